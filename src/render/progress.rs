//! Progress lines of an apply (`web: Creating...`, `web: Created after 0.4s`), with the
//! counts a spinner shows beside them.

use crate::apply::Event;
use crate::plan::Action;

/// Counts calls running and done, and words each event.
#[derive(Debug, Default)]
pub struct Progress {
    /// Calls running now.
    pub running: usize,
    /// Calls finished.
    pub done: usize,
}

impl Progress {
    /// The line for `e`, counting it.
    pub fn line(&mut self, e: &Event) -> String {
        match e {
            Event::Started { address, action } => {
                self.running += 1;
                format!("{address}: {}...", ing(*action))
            }
            Event::Finished {
                address,
                action,
                elapsed,
            } => {
                self.running -= 1;
                self.done += 1;
                format!(
                    "{address}: {} after {:.1}s",
                    ed(*action),
                    elapsed.as_secs_f64()
                )
            }
            Event::Failed { address, error } => {
                self.running = self.running.saturating_sub(1);
                format!("{address}: failed: {error}")
            }
            Event::Skipped { address } => format!("{address}: skipped (a dependency failed)"),
            Event::StillRunning {
                address,
                action,
                elapsed,
            } => format!(
                "{address}: Still {}... [{}s elapsed]",
                ing(*action).to_lowercase(),
                elapsed.as_secs()
            ),
            Event::Interrupted { waiting } => interrupted(waiting),
        }
    }

    /// `N done, M in progress`.
    pub fn status(&self) -> String {
        format!("{} done, {} in progress", self.done, self.running)
    }
}

fn ing(a: Action) -> &'static str {
    match a {
        Action::Create => "Creating",
        Action::Update => "Updating",
        Action::Replace => "Replacing",
        Action::Delete => "Destroying",
        Action::NoOp => "Reading",
        Action::Move => "Moving",
    }
}

fn ed(a: Action) -> &'static str {
    match a {
        Action::Create => "Created",
        Action::Update => "Updated",
        Action::Replace => "Replaced",
        Action::Delete => "Destroyed",
        Action::NoOp => "Read",
        Action::Move => "Moved",
    }
}

/// Said at the first Ctrl-C of an apply: what it waits for, and what a second one does.
fn interrupted(waiting: &[String]) -> String {
    let list: String = waiting.iter().map(|a| format!("\n  {a}")).collect();
    let (calls, them, their) = match waiting.len() {
        0 => {
            return "\nInterrupt received: no new change starts; the apply stops once what is done is recorded.".into();
        }
        1 => ("the call".to_string(), "it", "its intent stays"),
        n => (format!("the {n} calls"), "them", "their intents stay"),
    };
    format!(
        "\nInterrupt received: no new change starts. Waiting for {calls} in flight to finish:{list}\nPress Ctrl-C again to abandon {them}: baton exits at once and {their} recorded, as after kill -9; the next apply reads what {them} did and settles {them}."
    )
}

/// Said when a second Ctrl-C abandoned the calls in flight.
pub fn abandoned(addresses: &[String]) -> String {
    let list: String = addresses.iter().map(|a| format!("\n  {a}")).collect();
    format!(
        "Abandoned the calls in flight; their intents stay recorded:{list}\nThe next `baton apply` (or `baton plan`) reads those objects and settles them."
    )
}

/// Said once when a run waits for a lock another run holds.
pub fn lock_wait(held: &crate::state::LockInfo, timeout: std::time::Duration) -> String {
    let what = match held.what().as_str() {
        "the state" => String::new(),
        w => format!(" on {w}"),
    };
    format!(
        "waiting for the state lock{what} held by {} (`{}`, pid {}), up to {}",
        held.holder,
        held.operation,
        held.pid,
        humantime::format_duration(timeout)
    )
}

/// Said when a run took over a lock whose process is gone.
pub fn lock_taken_over(s: &crate::state::LockInfo) -> String {
    format!(
        "warning: took over a lock left by {} (pid {}, `{}` since {}), whose process is gone",
        s.holder, s.pid, s.operation, s.since
    )
}

/// Said before an apply that will store secrets unsealed.
pub fn secrets_in_clear(location: &str) -> String {
    format!(
        "warning: secrets are stored in clear in {location}; set BATON_STATE_KEY to seal them (`baton state keygen` makes a key, `baton state rekey` seals what is there)"
    )
}

/// The question before an apply or destroy of a fresh plan.
pub fn confirm(plan: &crate::plan::Plan, operation: &str) -> String {
    let s = plan.summary();
    format!(
        "\nDo you want to {operation} in `{}`? {} to add, {} to change, {} to replace, {} to destroy.\n  Only 'yes' will be accepted: ",
        plan.environment, s.create, s.update, s.replace, s.delete
    )
}

/// Said when the plan of an apply or destroy (`destroy`) was not approved.
pub fn cancelled(destroy: bool) -> String {
    let what = if destroy { "Destroy" } else { "Apply" };
    format!("\n{what} cancelled; nothing was changed.\n")
}
