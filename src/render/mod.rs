//! Documents from templates: the template set, the facts each template needs, drafts with
//! markers, and rendering to text and to HTML; and the compliance reports (adherence page and
//! CSV, register CSV) written from their data.

pub mod format;
pub mod report;
pub mod template;
