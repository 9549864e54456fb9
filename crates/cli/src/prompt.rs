//! Interactive prompts on a terminal (questions go to stderr, answers come
//! from stdin). Commands only prompt when [`interactive`] is true; otherwise
//! they fail naming the flags to pass.

use std::io::{BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};

/// Whether stdin is a terminal we may ask questions on.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// Asks for a line; an empty answer takes `default` when there is one.
pub fn ask(question: &str, default: Option<&str>) -> Result<String> {
    loop {
        match default {
            Some(d) if !d.is_empty() => eprint!("> {question} ({d}): "),
            _ => eprint!("> {question}: "),
        }
        let answer = read_line()?.trim().to_owned();
        if !answer.is_empty() {
            return Ok(answer);
        }
        if let Some(d) = default.filter(|d| !d.is_empty()) {
            return Ok(d.to_owned());
        }
    }
}

/// Asks for a secret without echoing it (via `stty -echo`, when available).
pub fn ask_secret(question: &str) -> Result<String> {
    loop {
        eprint!("> {question}: ");
        let echo_off = stty("-echo");
        let answer = read_line();
        if echo_off {
            stty("echo");
            eprintln!();
        }
        let answer = answer?;
        if !answer.is_empty() {
            return Ok(answer);
        }
    }
}

fn read_line() -> Result<String> {
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("read from the terminal")?;
    if n == 0 {
        bail!("no answer: stdin was closed");
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn stty(arg: &str) -> bool {
    Command::new("stty")
        .arg(arg)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}
