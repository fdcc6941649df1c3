//! Drives the real `wasplug` binary: every subcommand, its exit codes and its
//! error paths. One file per subcommand, in `cli/`.

mod cli {
    mod call;
    mod call_host;
    mod check;
    mod demo;
    mod inspect;
    mod methods;
    mod numbers;
    mod report;
    mod run;
    mod serve;
    mod support;
    mod terminal;
}
