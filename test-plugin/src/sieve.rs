//! The prime sieve, shared by the plugin's `prime_sieve` method, its raw
//! export (the interpreter's floor in the benchmarks) and the native floor.

/// Counts the primes up to `limit` with the sieve of Eratosthenes. Never
/// inlined, so the plugin method and the raw export run the very same code.
#[inline(never)]
pub(crate) fn count_primes(limit: usize) -> usize {
    let mut composite = vec![false; limit.saturating_add(1)];
    let mut count = 0;
    for n in 2..=limit {
        if composite.get(n).copied().unwrap_or(true) {
            continue;
        }
        count += 1;
        let mut multiple = n.saturating_mul(n);
        while multiple <= limit {
            if let Some(slot) = composite.get_mut(multiple) {
                *slot = true;
            }
            multiple += n;
        }
    }
    count
}
