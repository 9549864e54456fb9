//! Streaming a provisioner job's logs to the terminal as Coder's CLI does:
//! a `==> <stage>` line whenever the stage changes, then each output line
//! indented.

use anyhow::Result;
use codersdk::logstream::LogStream;

/// Prints every log of the stream until the job finishes.
pub async fn print(mut stream: LogStream) -> Result<()> {
    let mut stage = String::new();
    while let Some(log) = stream.next().await {
        let log = log?;
        if log.stage != stage && !log.stage.is_empty() {
            println!("==> {}", log.stage);
            stage = log.stage.clone();
        }
        if !log.output.is_empty() {
            println!("    {}", log.output);
        }
    }
    Ok(())
}
