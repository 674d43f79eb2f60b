//! What the firmware prints: plain text over semihosting, or defmt frames
//! (semihosting transport) with the `defmt` feature. Values are printed as
//! fixed-point integers, so no float formatting is linked.

#[cfg(not(feature = "defmt"))]
use cortex_m_semihosting::hprintln;

#[cfg(feature = "defmt")]
use defmt_semihosting as _;

/// A line of text.
pub fn line(s: &str) {
    #[cfg(not(feature = "defmt"))]
    hprintln!("{}", s);
    #[cfg(feature = "defmt")]
    defmt::println!("{=str}", s);
}

/// A failed check.
pub fn fail(why: &str) {
    #[cfg(not(feature = "defmt"))]
    hprintln!("pulsardb-fw: FAILED: {}", why);
    #[cfg(feature = "defmt")]
    defmt::error!("pulsardb-fw: FAILED: {=str}", why);
}

/// A named figure.
pub fn stat(what: &str, v: u64) {
    #[cfg(not(feature = "defmt"))]
    hprintln!("{}: {}", what, v);
    #[cfg(feature = "defmt")]
    defmt::println!("{=str}: {=u64}", what, v);
}

/// The last reading of a sensor, in quarters of a degree.
pub fn last(sensor: &str, quarters: i64) {
    let hundredths = quarters * 25;
    #[cfg(not(feature = "defmt"))]
    hprintln!(
        "last {}: {}.{:02} °C",
        sensor,
        hundredths / 100,
        hundredths % 100
    );
    #[cfg(feature = "defmt")]
    defmt::println!(
        "last {=str}: {=i64}.{=i64:02} C",
        sensor,
        hundredths / 100,
        hundredths % 100
    );
}

/// Hourly means of a sensor, in hundredths of a degree.
pub fn means(sensor: &str, hundredths: &[i64]) {
    #[cfg(not(feature = "defmt"))]
    {
        use core::fmt::Write;
        let mut s = alloc::string::String::new();
        for h in hundredths {
            let _ = write!(s, " {}.{:02}", h / 100, h % 100);
        }
        hprintln!("hourly means {} (°C):{}", sensor, s);
    }
    #[cfg(feature = "defmt")]
    defmt::println!(
        "hourly means {=str} (hundredths of C): {=[?]}",
        sensor,
        hundredths
    );
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    #[cfg(not(feature = "defmt"))]
    hprintln!(
        "pulsardb-fw: panic: {} (heap: {} bytes in use, peak {})",
        info,
        crate::heap::live(),
        crate::heap::peak()
    );
    #[cfg(feature = "defmt")]
    {
        let _ = info;
        defmt::error!("pulsardb-fw: panic");
    }
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
