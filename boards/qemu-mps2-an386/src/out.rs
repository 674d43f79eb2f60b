//! What the firmware prints: plain text over semihosting, or defmt frames
//! (semihosting transport) with the `defmt` feature. Values are printed as
//! fixed-point integers, so no float formatting is linked; plain text is
//! built by [`Text`] rather than `core::fmt` (about 2.5 KiB less code).

#[cfg(feature = "defmt")]
use defmt_semihosting as _;

/// A line of text built in a fixed buffer, written to the host's stdout in
/// one semihosting call. Longer lines are cut (nothing here prints one).
#[cfg(not(feature = "defmt"))]
struct Text {
    buf: [u8; 256],
    len: usize,
}

#[cfg(not(feature = "defmt"))]
impl Text {
    fn new() -> Self {
        Self {
            buf: [0; 256],
            len: 0,
        }
    }

    fn str(&mut self, s: &str) -> &mut Self {
        for &b in s.as_bytes() {
            self.byte(b);
        }
        self
    }

    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.buf.get_mut(self.len) {
            *slot = b;
            self.len += 1;
        }
    }

    /// `v` in decimal, at least `width` digits (zero-padded).
    fn uint(&mut self, mut v: u64, width: usize) -> &mut Self {
        let mut digits = [0u8; 20];
        let mut n = 0;
        for slot in digits.iter_mut() {
            if v == 0 && n >= width.max(1) {
                break;
            }
            *slot = b'0' + (v % 10) as u8;
            v /= 10;
            n += 1;
        }
        for &d in digits.iter().take(n).rev() {
            self.byte(d);
        }
        self
    }

    /// `hundredths / 100` with two decimals.
    fn fixed2(&mut self, hundredths: i64) -> &mut Self {
        if hundredths < 0 {
            self.str("-");
        }
        let h = hundredths.unsigned_abs();
        self.uint(h / 100, 1).str(".").uint(h % 100, 2)
    }

    fn print(&mut self) {
        self.str("\n");
        if let Ok(mut out) = cortex_m_semihosting::hio::hstdout() {
            let _ = out.write_all(self.buf.get(..self.len).unwrap_or_default());
        }
    }
}

/// A line of text.
pub fn line(s: &str) {
    #[cfg(not(feature = "defmt"))]
    Text::new().str(s).print();
    #[cfg(feature = "defmt")]
    defmt::println!("{=str}", s);
}

/// A failed check.
pub fn fail(why: &str) {
    #[cfg(not(feature = "defmt"))]
    Text::new().str("pulsardb-fw: FAILED: ").str(why).print();
    #[cfg(feature = "defmt")]
    defmt::error!("pulsardb-fw: FAILED: {=str}", why);
}

/// A named figure.
pub fn stat(what: &str, v: u64) {
    #[cfg(not(feature = "defmt"))]
    Text::new().str(what).str(": ").uint(v, 1).print();
    #[cfg(feature = "defmt")]
    defmt::println!("{=str}: {=u64}", what, v);
}

/// The last reading of a sensor, in quarters of a degree.
pub fn last(sensor: &str, quarters: i64) {
    let hundredths = quarters * 25;
    #[cfg(not(feature = "defmt"))]
    Text::new()
        .str("last ")
        .str(sensor)
        .str(": ")
        .fixed2(hundredths)
        .str(" °C")
        .print();
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
        let mut t = Text::new();
        t.str("hourly means ").str(sensor).str(" (°C):");
        for &h in hundredths {
            t.str(" ").fixed2(h);
        }
        t.print();
    }
    #[cfg(feature = "defmt")]
    defmt::println!(
        "hourly means {=str} (hundredths of C): {=[?]}",
        sensor,
        hundredths
    );
}

/// A panic is a bug (the engine returns errors for bad input and bad
/// media): the firmware says so and exits non-zero. The message and its
/// location are printed with the `panic-message` feature only: formatting
/// them links the text and arguments of every panic site, about 10 KiB.
#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    #[cfg(all(not(feature = "defmt"), feature = "panic-message"))]
    cortex_m_semihosting::hprintln!("pulsardb-fw: panic: {}", info);
    #[cfg(all(not(feature = "defmt"), not(feature = "panic-message")))]
    {
        let _ = info;
        Text::new()
            .str("pulsardb-fw: panic (build with --features panic-message to see where)")
            .print();
    }
    #[cfg(not(feature = "defmt"))]
    Text::new()
        .str("heap: ")
        .uint(crate::heap::live() as u64, 1)
        .str(" bytes in use, peak ")
        .uint(crate::heap::peak() as u64, 1)
        .print();
    #[cfg(feature = "defmt")]
    {
        let _ = info;
        defmt::error!("pulsardb-fw: panic");
    }
    cortex_m_semihosting::debug::exit(cortex_m_semihosting::debug::EXIT_FAILURE);
    #[allow(clippy::empty_loop)]
    loop {}
}
