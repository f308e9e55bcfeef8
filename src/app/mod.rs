//! Use-cases over ports: what a front end (the command line today, the team server next) asks
//! breachflow to do. Each use-case takes its inputs and returns data or a typed error; none prints.
