//! `wasplug demo`.

use super::support::wasplug;
use predicates::prelude::*;

#[test]
fn demo_shows_every_step_behaving() {
    wasplug().arg("demo").assert().success().stdout(
        predicate::str::contains("ping -> \"pong\"")
            .and(predicate::str::contains("many_echo(200) -> 200"))
            .and(predicate::str::contains(
                "prime_sieve(100000) -> 9592 primes",
            ))
            .and(predicate::str::contains("sleep(100)"))
            .and(predicate::str::contains("panic -> contained"))
            .and(predicate::str::contains("FAIL").not()),
    );
}
