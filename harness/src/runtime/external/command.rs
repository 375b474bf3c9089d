//! Running a target's action: its command with the placeholders filled in, through `sh -c`,
//! under a time limit; a failure names the action, the command, its exit status and the
//! tail of its standard error. Also the `stats` action's output format.

use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};

/// Lines of standard error an error message keeps.
const STDERR_TAIL: usize = 12;

/// The `{word}` placeholders of a command (lowercase words only, and not `${...}`, so shell
/// syntax such as `${HOME}` or awk's `{print $1}` is left alone).
pub fn placeholders(command: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let bytes = command.as_bytes();
    let mut i = 0;
    while let Some(open) = command[i..].find('{').map(|o| o + i) {
        let close = command[open..].find('}').map(|c| c + open);
        let Some(close) = close else { break };
        let word = &command[open + 1..close];
        let shell = open > 0 && bytes[open - 1] == b'$';
        if !shell && !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
            out.push(word);
        }
        i = open + 1;
    }
    out
}

/// What a command's placeholders stand for.
#[derive(Clone, Debug, Default)]
pub struct Vars {
    pub service: String,
    /// 1 for the first replica (`customers`), 2 for `customers#2`, ...
    pub replica: u32,
    pub replicas: Option<u32>,
}

impl Vars {
    /// For an instance name (`customers`, `customers#2`).
    pub fn instance(name: &str) -> Vars {
        let (service, replica) = match name.split_once('#') {
            Some((s, r)) => (s, r.parse().unwrap_or(1)),
            None => (name, 1),
        };
        Vars {
            service: service.to_owned(),
            replica,
            replicas: None,
        }
    }

    /// `command` with the placeholders replaced.
    pub fn expand(&self, command: &str) -> String {
        let mut out = command.replace("{service}", &self.service);
        out = out.replace("{replica}", &self.replica.to_string());
        if let Some(n) = self.replicas {
            out = out.replace("{replicas}", &n.to_string());
        }
        out
    }
}

/// Runs `action`'s `command` (placeholders filled) and returns its standard output.
pub async fn run(
    action: &str,
    command: &str,
    vars: &Vars,
    timeout: Duration,
) -> anyhow::Result<String> {
    let line = vars.expand(command);
    let child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(&line)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("the target's `{action}` action: start `sh -c {line}`"))?;
    let out = match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(out) => out.with_context(|| format!("the target's `{action}` action: `{line}`"))?,
        Err(_) => bail!(
            "the target's `{action}` action: `{line}` did not finish within {} s (killed; command_timeout_s)",
            timeout.as_secs_f64()
        ),
    };
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = stderr.lines().collect();
        let tail = lines[lines.len().saturating_sub(STDERR_TAIL)..].join("\n");
        let status = out
            .status
            .code()
            .map_or_else(|| "a signal".to_owned(), |c| format!("status {c}"));
        bail!(
            "the target's `{action}` action failed: `{line}` exited with {status}; its standard error ends:\n{}",
            if tail.trim().is_empty() {
                "(empty)"
            } else {
                &tail
            }
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// One replica's figures as the `stats` action prints them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Usage {
    pub cpu: Cpu,
    pub memory_bytes: u64,
}

/// CPU as a counter or as a rate.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Cpu {
    /// Cumulative CPU seconds (`12.5s`).
    Seconds(f64),
    /// Cores in use now (`250m`, `25%`): integrated over time by the runtime.
    Cores(f64),
}

/// Parses the `stats` output: one `CPU MEMORY` line per replica.
pub fn parse_stats(out: &str) -> anyhow::Result<Vec<Usage>> {
    let mut usage = Vec::new();
    for (i, line) in out
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [cpu, mem] = fields[..] else {
            bail!(
                "stats output line {}: `{line}`: expected `CPU MEMORY` (e.g. `12.5s 84MiB`, `250m 84Mi`, `3.5% 84MB`)",
                i + 1
            );
        };
        let cpu =
            parse_cpu(cpu).with_context(|| format!("stats output line {}: CPU `{cpu}`", i + 1))?;
        let memory_bytes = parse_bytes(mem)
            .with_context(|| format!("stats output line {}: memory `{mem}`", i + 1))?;
        usage.push(Usage { cpu, memory_bytes });
    }
    anyhow::ensure!(!usage.is_empty(), "the stats action printed nothing");
    Ok(usage)
}

fn number(s: &str) -> anyhow::Result<f64> {
    let v: f64 = s
        .parse()
        .with_context(|| format!("'{s}' is not a number"))?;
    anyhow::ensure!(v.is_finite() && v >= 0.0, "'{s}' is not zero or more");
    Ok(v)
}

fn parse_cpu(s: &str) -> anyhow::Result<Cpu> {
    if let Some(v) = s.strip_suffix('s') {
        Ok(Cpu::Seconds(number(v)?))
    } else if let Some(v) = s.strip_suffix('m') {
        Ok(Cpu::Cores(number(v)? / 1000.0))
    } else if let Some(v) = s.strip_suffix('%') {
        Ok(Cpu::Cores(number(v)? / 100.0))
    } else {
        bail!("needs a unit: `s` (cumulative seconds), `m` (millicores) or `%` (of one core)")
    }
}

fn parse_bytes(s: &str) -> anyhow::Result<u64> {
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (v, unit) = s.split_at(split);
    let scale: f64 = match unit {
        "" | "B" => 1.0,
        "k" | "kB" | "KB" => 1e3,
        "Ki" | "KiB" => 1024.0,
        "M" | "MB" => 1e6,
        "Mi" | "MiB" => 1024.0 * 1024.0,
        "G" | "GB" => 1e9,
        "Gi" | "GiB" => 1024.0 * 1024.0 * 1024.0,
        other => bail!("unknown unit '{other}' (B, kB, KiB, MB, MiB, GB, GiB, Ki, Mi, Gi)"),
    };
    Ok((number(v)? * scale) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_lowercase_words_in_braces_but_not_shell_syntax() {
        let c = "docker kill {service}-{replica} ${HOME} $(awk '{print $1}') {Upper}";
        assert_eq!(placeholders(c), ["service", "replica"]);
        let v = Vars {
            replicas: Some(3),
            ..Vars::instance("customers#2")
        };
        assert_eq!(
            v.expand("scale {service} {replica} {replicas}"),
            "scale customers 2 3"
        );
    }

    #[test]
    fn stats_lines_take_counters_and_rates_with_units() {
        let u = parse_stats("12.5s 84MiB\n250m 1Gi\n\n3.5% 2kB\n").unwrap();
        assert_eq!(u[0].cpu, Cpu::Seconds(12.5));
        assert_eq!(u[0].memory_bytes, 84 * 1024 * 1024);
        assert_eq!(u[1].cpu, Cpu::Cores(0.25));
        assert_eq!(u[1].memory_bytes, 1024 * 1024 * 1024);
        assert_eq!(u[2].cpu, Cpu::Cores(0.035));
        assert_eq!(u[2].memory_bytes, 2000);
        let e = format!("{:#}", parse_stats("12.5 84MiB").unwrap_err());
        assert!(
            e.contains("line 1: CPU `12.5`") && e.contains("needs a unit"),
            "{e}"
        );
        let e = format!("{:#}", parse_stats("1s 2XB").unwrap_err());
        assert!(e.contains("unknown unit 'XB'"), "{e}");
        assert!(parse_stats("1s").is_err() && parse_stats("").is_err());
    }

    #[tokio::test]
    async fn a_failing_command_is_named_with_its_status_and_stderr() {
        let v = Vars::instance("customers");
        let out = run("stats", "echo {service}", &v, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(out, "customers\n");
        let e = run(
            "kill",
            "echo nope {service} >&2; exit 3",
            &v,
            Duration::from_secs(5),
        )
        .await
        .unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("`kill` action failed"), "{e}");
        assert!(e.contains("`echo nope customers >&2; exit 3`"), "{e}");
        assert!(
            e.contains("status 3") && e.contains("nope customers"),
            "{e}"
        );
        let e = run("restart", "sleep 5", &v, Duration::from_millis(200))
            .await
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("did not finish within 0.2 s"),
            "{e:#}"
        );
    }
}
