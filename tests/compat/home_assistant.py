"""Writes the way Home Assistant's InfluxDB integration (1.x API) does and reads back.

Home Assistant (homeassistant/components/influxdb, default configuration)
turns each state change into a point with the `influxdb` client (5.3.x): measurement = the unit of measurement (else `domain.object_id`), tags
`domain` and `entity_id`, a float `value` when the state is a number (or on/off
and the like, as 1/0), the state itself as a string field `state` when it is
not a plain number, and one field per attribute: a float when it reads as one,
otherwise `<name>_str`, a string. So nearly every point carries string fields
(`friendly_name_str`, `device_class_str`, ...).

Usage: home_assistant.py HOST PORT MODE, MODE being the server's
`string_fields` setting:
- `reject`: write_points fails with a 400 naming a string field and the
  setting, and the numeric fields of those points are not stored either;
- `drop`: write_points succeeds; every number reads back, no string field is
  listed, points made only of strings leave nothing, and /metrics counts the
  string values left out.
Exit status 0 when every check passes.
"""
import datetime
import json
import math
import re
import sys
import urllib.request

from checks import Checks
from influxdb import InfluxDBClient
from influxdb.exceptions import InfluxDBClientError

host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
check = Checks()


def state_as_number(state):
    """Home Assistant's `state_helper.state_as_number`."""
    if state in ("on", "locked", "above_horizon", "open", "home"):
        return 1.0
    if state in ("off", "unlocked", "below_horizon", "closed", "not_home"):
        return 0.0
    return float(state)


def event_to_json(domain, object_id, state, attributes, when):
    """The point Home Assistant's integration builds for one state change
    (default configuration), or None when it writes none."""
    if state in ("unknown", "", "unavailable", None):
        return None
    unit = attributes.get("unit_of_measurement")
    point = {
        "measurement": unit if unit else f"{domain}.{object_id}",
        "tags": {"domain": domain, "entity_id": object_id},
        "time": when,
        "fields": {},
    }
    try:
        point["fields"]["value"] = float(state)
    except ValueError:
        point["fields"]["state"] = state
        try:
            point["fields"]["value"] = state_as_number(state)
        except ValueError:
            pass
    for key, value in attributes.items():
        if key == "unit_of_measurement" and unit:
            continue
        if key in point["fields"]:
            key = key + "_"
        try:
            point["fields"][key] = float(value)
        except (ValueError, TypeError):
            new_key = f"{key}_str"
            new_value = str(value)
            point["fields"][new_key] = new_value
            if re.match(r"^[^\.]*\d+\.?\d+[^\.]*$", new_value):
                point["fields"][key] = float(re.sub(r"[^\d.]+", "", new_value))
        number = point["fields"].get(key)
        if isinstance(number, float) and not math.isfinite(number):
            del point["fields"][key]
    return point


base = datetime.datetime(2026, 11, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
points = []
for i in range(12):
    when = base + datetime.timedelta(seconds=30 * i)
    points.append(event_to_json("sensor", "living_room_temperature", f"{20 + i * 0.25:.2f}", {
        "unit_of_measurement": "°C",
        "device_class": "temperature",
        "state_class": "measurement",
        "friendly_name": "Living room temperature",
    }, when))
    points.append(event_to_json("sensor", "phone_battery", str(80 - i), {
        "unit_of_measurement": "%",
        "friendly_name": "Phone battery",
        "charging": "12 min",
    }, when))
    points.append(event_to_json("binary_sensor", "front_door", "on" if i % 2 else "off", {
        "device_class": "door",
        "friendly_name": "Front door",
    }, when))
    points.append(event_to_json("weather", "home", "cloudy", {
        "attribution": "Weather forecast from met.no",
        "friendly_name": "Home",
    }, when))
    # An entity that is unavailable writes nothing.
    check(event_to_json("sensor", "offline", "unavailable", {"friendly_name": "Offline"}, when) is None,
          "unavailable states are skipped")

c = InfluxDBClient(host=host, port=port, database="home_assistant")
# At start the integration tests the connection with an empty write; it does
# not create the database.
try:
    c.write_points([])
    check(False, "an empty write to a missing database succeeded")
except InfluxDBClientError as e:
    check(e.code == 404, f"404 for a missing database, got {e.code}")
c.create_database("home_assistant")
check(c.write_points([]), "the integration's connection test (an empty write)")

if mode == "reject":
    try:
        c.write_points(points)
        check(False, "write_points with string fields succeeded under string_fields=reject")
    except InfluxDBClientError as e:
        check(e.code == 400, f"400 for string fields, got {e.code}")
        msg = str(e.content)
        check("_str" in msg and "string_fields" in msg, f"the error names a string field and the setting: {msg}")
    rows = list(c.query('SELECT value FROM "°C"').get_points())
    check(rows == [], f"no field of a refused point is stored: {rows}")
elif mode == "drop":
    check(c.write_points(points), "write_points with string fields")
    rs = c.query("SELECT value FROM \"°C\" WHERE entity_id = 'living_room_temperature'", epoch="s")
    rows = list(rs.get_points())
    check([r["value"] for r in rows] == [20 + i * 0.25 for i in range(12)], f"temperatures read back: {rows}")
    rows = list(c.query('SELECT last(value), last(charging) FROM "%"').get_points())
    check(rows and rows[0]["last"] == 69 and rows[0]["last_1"] == 12, f"numbers and a digit-tailed attribute: {rows}")
    rows = list(c.query('SELECT sum(value) FROM "binary_sensor.front_door"').get_points())
    check(rows and rows[0]["sum"] == 6, f"on/off states as 1/0: {rows}")
    keys = {}
    for m in ("°C", "%", "binary_sensor.front_door"):
        keys[m] = sorted(f["fieldKey"] for f in c.query(f'SHOW FIELD KEYS FROM "{m}"').get_points())
    check(keys == {"°C": ["value"], "%": ["charging", "value"], "binary_sensor.front_door": ["value"]},
          f"only the numeric fields are listed: {keys}")
    names = sorted(m["name"] for m in c.get_list_measurements())
    check("weather.home" not in names, f"a point made only of strings leaves nothing: {names}")
    with urllib.request.urlopen(f"http://{host}:{port}/metrics") as r:
        text = r.read().decode()
    # Per state change: temperature 3 (device_class, state_class,
    # friendly_name), battery 2 (friendly_name, charging), door 3 (state,
    # device_class, friendly_name), weather 3 (state, attribution,
    # friendly_name).
    want = 12 * (3 + 2 + 3 + 3)
    check(f'pulsardb_points_total{{outcome="dropped_string"}} {want}' in text,
          f"/metrics counts {want} string values left out")
    # An energy meter (kWh, 0.25 per 15 min) over Berlin's change back to
    # winter time, and the energy dashboard's daily use: spread per local
    # day, the 29th having 25 hours.
    start = datetime.datetime(2023, 10, 27, 22, 0, 0, tzinfo=datetime.timezone.utc)
    meter = [event_to_json("sensor", "house_energy", f"{i * 0.25:.2f}", {
        "unit_of_measurement": "kWh",
        "device_class": "energy",
        "state_class": "total_increasing",
        "friendly_name": "House energy",
    }, start + datetime.timedelta(minutes=15 * i)) for i in range((24 + 25 + 24) * 4)]
    check(c.write_points(meter), "write_points of the energy meter")
    rs = c.query("SELECT spread(value) FROM \"kWh\" WHERE entity_id = 'house_energy' "
                 "AND time >= '2023-10-28' AND time < '2023-10-31' GROUP BY time(1d) tz('Europe/Berlin')")
    days = [(r["time"], r["spread"]) for r in rs.get_points()]
    check(days == [("2023-10-28T00:00:00+02:00", 23.75), ("2023-10-29T00:00:00+02:00", 24.75),
                   ("2023-10-30T00:00:00+01:00", 23.75)],
          f"daily energy per local day, 25 hours on the 29th: {days}")
else:
    sys.exit(f"unknown mode {mode!r}")

print(json.dumps({"home_assistant": mode, "points_sent": len(points), "checks": check.count}))
print(f"home assistant ({mode}): {check.count} checks passed")
