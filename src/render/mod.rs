//! Documents from templates: the template set, the facts each template needs, drafts with
//! markers, rendering to text and to HTML; the calendar export; and the compliance reports
//! (adherence page and CSV, register CSV) written from their data.

pub mod calendar;
pub mod format;
mod helpers;
pub mod intake;
mod needed;
mod rendering;
pub mod report;
pub mod template;
