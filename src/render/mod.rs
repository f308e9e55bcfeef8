//! Documents from templates: the template set, the facts each template needs, drafts with
//! markers, rendering to text and to HTML, and the calendar export.

pub mod calendar;
mod helpers;
mod needed;
mod rendering;
pub mod template;
