//! `/inspections`: minutes from the field, their corrections, review and
//! photos. The use cases are in [`crate::app::inspections`].

mod attachments;
mod corrections;
mod create;
mod list;
mod review;

pub use attachments::{get_attachment, put_attachment};
pub use corrections::correct;
pub use create::create;
pub use list::{get, list, versions};
pub use review::review;
