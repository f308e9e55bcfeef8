//! Loading regimes and holiday calendars: the built-in files embedded at build time, then the
//! user's override folder, where a file with a built-in's id replaces it and a new id adds a
//! regime (an insurer's 48-hour clause, say).
//!
//! Every file is TOML, checked against the JSON Schema of its Rust type like any other input,
//! so an error names the file and the path inside it.

use std::path::Path;

use crate::app::input::{InputError, parse_toml};
use crate::domain::regime::{
    Anchor, CalendarAdditions, Deadline, HolidayCalendar, Regime, Rulebook,
};

use crate::embedded;

impl Rulebook {
    /// The built-in rulebook plus, if given, the override folder (`*.toml` regimes, and
    /// calendars in its `calendars/` subfolder).
    pub fn load(overrides: Option<&Path>) -> Result<Rulebook, InputError> {
        let mut book = Rulebook::default();
        for (name, text) in embedded::CALENDARS {
            book.add_calendar(name, text)?;
        }
        for (name, text) in embedded::REGIMES {
            book.add_regime(name, text)?;
        }
        if let Some(dir) = overrides {
            let read = |d: &Path| -> Result<Vec<std::path::PathBuf>, InputError> {
                let mut files: Vec<_> = match std::fs::read_dir(d) {
                    Ok(entries) => entries
                        .filter_map(|e| e.ok())
                        .map(|e| e.path())
                        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                        .collect(),
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && d != dir => Vec::new(),
                    Err(source) => {
                        return Err(InputError::Read {
                            file: d.display().to_string(),
                            source,
                        });
                    }
                };
                files.sort();
                Ok(files)
            };
            // Whole calendars first (a file with a built-in's id replaces it), then the days
            // other files add to a calendar without replacing it (`adds_to`).
            let mut additions = Vec::new();
            for path in read(&dir.join("calendars"))? {
                let text = read_text(&path)?;
                let file = path.display().to_string();
                if adds_to(&text) {
                    additions.push((file, text));
                } else {
                    book.add_calendar(&file, &text)?;
                }
            }
            for (file, text) in additions {
                book.add_days(&file, &text)?;
            }
            for path in read(dir)? {
                let text = read_text(&path)?;
                book.add_regime(&path.display().to_string(), &text)?;
            }
        }
        book.check_references()?;
        Ok(book)
    }

    fn add_regime(&mut self, file: &str, text: &str) -> Result<(), InputError> {
        let regime: Regime = parse_toml(file, text)?;
        let problems = check_regime(&regime);
        if !problems.is_empty() {
            return Err(InputError::invalid(file, problems));
        }
        self.sources.insert(regime.id.clone(), file.to_string());
        self.regimes.insert(regime.id.clone(), regime);
        Ok(())
    }

    fn add_calendar(&mut self, file: &str, text: &str) -> Result<(), InputError> {
        let calendar: HolidayCalendar = parse_toml(file, text)?;
        if calendar.first_year > calendar.last_year {
            return Err(InputError::invalid(
                file,
                vec![("/last_year".into(), "last_year is before first_year".into())],
            ));
        }
        self.calendars.0.insert(calendar.id.clone(), calendar);
        Ok(())
    }

    fn add_days(&mut self, file: &str, text: &str) -> Result<(), InputError> {
        let additions: CalendarAdditions = parse_toml(file, text)?;
        let Some(calendar) = self.calendars.0.get_mut(&additions.adds_to) else {
            let installed: Vec<&str> = self.calendars.0.keys().map(String::as_str).collect();
            return Err(InputError::invalid(
                file,
                vec![(
                    "/adds_to".into(),
                    format!(
                        "no holiday calendar {:?} is installed; expected one of {}",
                        additions.adds_to,
                        installed.join(", ")
                    ),
                )],
            ));
        };
        calendar.add(&additions).map_err(|(i, why)| {
            InputError::invalid(file, vec![(format!("/days/{i}/date"), why)])
        })?;
        Ok(())
    }

    /// Every business-day rule names a calendar that exists.
    fn check_references(&self) -> Result<(), InputError> {
        for (id, regime) in &self.regimes {
            let mut problems = Vec::new();
            for (i, phase) in regime.phases.iter().enumerate() {
                let limits = std::iter::once(("deadline", &phase.deadline)).chain(
                    phase
                        .also_within
                        .as_ref()
                        .map(|l| ("also_within/deadline", &l.deadline)),
                );
                for (at, deadline) in limits {
                    if let Deadline::Days {
                        business_calendar: Some(cal),
                        ..
                    } = deadline
                        && !self.calendars.0.contains_key(cal)
                    {
                        problems.push((
                            format!("/phases/{i}/{at}/business_calendar"),
                            format!("no holiday calendar {cal:?} is installed"),
                        ));
                    }
                }
            }
            if !problems.is_empty() {
                return Err(InputError::invalid(&self.sources[id], problems));
            }
        }
        Ok(())
    }
}

/// Whether a calendar file adds days to another (`adds_to = ...`) rather than being one.
fn adds_to(text: &str) -> bool {
    toml::from_str::<toml::Table>(text).is_ok_and(|t| t.contains_key("adds_to"))
}

fn read_text(path: &Path) -> Result<String, InputError> {
    crate::adapters::files::read_bounded(path, crate::domain::bounds::MAX_INPUT_FILE_BYTES)
}

/// Rules a schema cannot express.
fn check_regime(regime: &Regime) -> Vec<(String, String)> {
    let mut problems = Vec::new();
    if let Some(to) = regime.effective_to
        && to < regime.effective_from
    {
        problems.push((
            "/effective_to".into(),
            "effective_to is before effective_from".into(),
        ));
    }
    if regime
        .phases
        .first()
        .is_some_and(|p| p.anchor == Anchor::PreviousPhase)
    {
        problems.push((
            "/phases/0/anchor".into(),
            "the first phase has no previous phase to start from".into(),
        ));
    }
    if let Some(z) = &regime.zone
        && z.parse::<chrono_tz::Tz>().is_err()
    {
        problems.push(("/zone".into(), format!("{z:?} is not an IANA time zone")));
    }
    for (i, period) in regime.citations.iter().enumerate() {
        if let (Some(from), Some(until)) = (period.from, period.until)
            && until <= from
        {
            problems.push((
                format!("/citations/{i}/until"),
                "until is not after from".into(),
            ));
        }
        for id in period.phases.keys() {
            if !regime.phases.iter().any(|p| &p.id == id) {
                problems.push((
                    format!("/citations/{i}/phases/{id}"),
                    format!("the regime has no phase {id:?}"),
                ));
            }
        }
    }
    for (i, phase) in regime.phases.iter().enumerate() {
        if regime.phases[..i].iter().any(|p| p.id == phase.id) {
            problems.push((
                format!("/phases/{i}/id"),
                format!("phase id {:?} is used twice", phase.id),
            ));
        }
        if let Deadline::Days { zone: Some(z), .. } = &phase.deadline
            && z.parse::<chrono_tz::Tz>().is_err()
        {
            problems.push((
                format!("/phases/{i}/deadline/zone"),
                format!("{z:?} is not an IANA time zone"),
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::deadline::business_days;
    use chrono::NaiveDate;

    fn date(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn every_shipped_file_loads_and_cites_its_source() {
        let book = Rulebook::load(None).expect("the shipped regimes are valid");
        assert!(book.regimes.len() >= 17, "{}", book.regimes.len());
        for r in book.regimes.values() {
            assert!(!r.citation.trim().is_empty(), "{} has no citation", r.id);
            assert!(
                book.sources[&r.id].ends_with(&format!("{}.toml", r.id)),
                "{} is not in a file named after it",
                r.id
            );
            for u in &r.unverified {
                assert!(
                    u.starts_with('†'),
                    "{}: unverified facts carry the † mark",
                    r.id
                );
            }
        }
        for id in [
            "england-and-wales",
            "scotland",
            "northern-ireland",
            "us-federal",
        ] {
            let c = &book.calendars.0[id];
            assert_eq!((c.first_year, c.last_year), (2018, 2030), "{id}");
            for h in &c.holidays {
                use chrono::Datelike;
                assert!(h.date.weekday().number_from_monday() <= 5, "{id} {h:?}");
            }
        }
    }

    #[test]
    fn the_uk_calendars_differ_where_the_rules_do() {
        let book = Rulebook::load(None).unwrap();
        let has = |id: &str, d: &str| {
            book.calendars.0[id]
                .holidays
                .iter()
                .any(|h| h.date == date(d))
        };
        // 2 January and St Andrew's Day (Mon 2 Dec 2019, for Sat 30 Nov) in Scotland only;
        // Easter Monday (22 Apr 2019) not in Scotland; St Patrick's Day (Mon 18 Mar 2019, for
        // Sun 17 Mar) in Northern Ireland only.
        assert!(has("scotland", "2019-01-02") && !has("england-and-wales", "2019-01-02"));
        assert!(has("scotland", "2019-12-02") && !has("northern-ireland", "2019-12-02"));
        assert!(has("england-and-wales", "2019-04-22") && !has("scotland", "2019-04-22"));
        assert!(has("northern-ireland", "2019-03-18") && !has("england-and-wales", "2019-03-18"));
        // One-off days everywhere in the UK: VE Day 2020 (in place of 4 May), the State Funeral
        // on 19 Sep 2022.
        for id in ["england-and-wales", "scotland", "northern-ireland"] {
            assert!(has(id, "2020-05-08") && !has(id, "2020-05-04"), "{id}");
            assert!(has(id, "2022-09-19"), "{id}");
        }
        // US: Juneteenth first observed Fri 18 Jun 2021; New Year's Day 2022 (a Saturday)
        // observed Fri 31 Dec 2021.
        assert!(has("us-federal", "2021-06-18") && has("us-federal", "2021-12-31"));
        assert!(!has("us-federal", "2020-06-19"));
    }

    #[test]
    fn business_days_over_easter_in_england_and_wales() {
        // Thu 28 Mar 2024 (day 0) + 2 business days: Good Friday 29 Mar, the weekend and Easter
        // Monday 1 Apr are skipped; Tue 2 Apr (1), Wed 3 Apr (2).
        let book = Rulebook::load(None).unwrap();
        let ew = &book.calendars.0["england-and-wales"];
        let (last, skipped) = business_days(date("2024-03-28"), 2, ew).unwrap();
        assert_eq!(last, date("2024-04-03"));
        assert_eq!(skipped.len(), 4);
    }

    #[test]
    fn business_days_over_christmas_and_the_year_end() {
        // Thu 24 Dec 2026 (day 0) + 4: Fri 25 Christmas, weekend, Mon 28 Boxing Day (substitute)
        // skipped; Tue 29 (1), Wed 30 (2), Thu 31 (3); Fri 1 Jan 2027 New Year's Day and the
        // weekend skipped; Mon 4 Jan (4).
        let book = Rulebook::load(None).unwrap();
        let ew = &book.calendars.0["england-and-wales"];
        let (last, _) = business_days(date("2026-12-24"), 4, ew).unwrap();
        assert_eq!(last, date("2027-01-04"));
        // US: Wed 1 Jul 2026 + 3: Thu 2 (1), Fri 3 Jul is Independence Day observed (4 Jul is a
        // Saturday), weekend, Mon 6 (2), Tue 7 (3).
        let us = &book.calendars.0["us-federal"];
        let (last, _) = business_days(date("2026-07-01"), 3, us).unwrap();
        assert_eq!(last, date("2026-07-07"));
    }

    #[test]
    fn a_date_beyond_the_calendar_is_an_error() {
        let book = Rulebook::load(None).unwrap();
        let ew = &book.calendars.0["england-and-wales"];
        let err = business_days(date("2030-12-30"), 3, ew).unwrap_err();
        assert!(err.contains("outside"), "{err}");
        assert!(business_days(date("2017-06-01"), 1, ew).is_err());
    }
}
