//! The examples' `--isa` option: a comma-separated list of ISAs this CPU has.

use nnsimd::Isa;

/// The ISAs named in `list` (empty names and those in `skip` left out), or why not: a name that
/// is no ISA, or an ISA this CPU lacks.
pub fn parse(list: &str, skip: &[&str]) -> Result<Vec<Isa>, String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty() && !skip.contains(s))
        .map(|name| {
            let isa: Isa = name.parse().map_err(|e| format!("{e}"))?;
            if !isa.is_available() {
                return Err(format!("ISA {isa} is not available here (available: {:?})", Isa::available()));
            }
            Ok(isa)
        })
        .collect()
}
