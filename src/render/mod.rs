//! Documents from templates: the template set, the facts each template needs, drafts with
//! markers, and rendering to text and to HTML.

pub mod template;
