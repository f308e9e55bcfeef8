//! Documents from templates: the template set, the facts each template needs, drafts with
//! markers, rendering to text and to HTML; the calendar export; and the compliance reports
//! (adherence page and CSV, register CSV) written from their data; and the browser workspace's
//! pages.

pub mod calendar;
pub mod compare;
pub mod form;
pub mod format;
mod helpers;
pub mod intake;
mod needed;
pub mod pages;
mod rendering;
pub mod report;
pub mod template;
pub mod words;
