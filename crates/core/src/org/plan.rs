//! What an import will change, computed from the validated records and what is stored.
//! Keyed by code: new codes are added, changed or re-appearing ones updated, and active
//! ones missing from the file deactivated. Nothing is deleted.

use std::collections::{HashMap, HashSet};

use lantoa_domain::roster::{
    Coded, ExistingStaff, ExistingUnit, Plan, Record, StaffRecord, Stored, UnitRecord,
};

fn plan<F: Coded + PartialEq>(records: Vec<Record<F>>, existing: &[Stored<F>]) -> Plan<Record<F>> {
    let stored: HashMap<&str, &Stored<F>> = existing.iter().map(|e| (e.code(), e)).collect();
    let in_file: HashSet<&str> = records.iter().map(|r| r.code()).collect();
    let mut deactivated: Vec<String> = existing
        .iter()
        .filter(|e| e.active && !in_file.contains(e.code()))
        .map(|e| e.code().to_string())
        .collect();
    deactivated.sort();
    let mut result = Plan {
        added: Vec::new(),
        updated: Vec::new(),
        deactivated,
        unchanged: 0,
    };
    for record in records {
        match stored.get(record.code()) {
            None => result.added.push(record),
            Some(e) if e.active && record.fields == e.fields => result.unchanged += 1,
            Some(_) => result.updated.push(record),
        }
    }
    result
}

pub fn plan_units(records: Vec<UnitRecord>, existing: &[ExistingUnit]) -> Plan<UnitRecord> {
    plan(records, existing)
}

pub fn plan_staff(records: Vec<StaffRecord>, existing: &[ExistingStaff]) -> Plan<StaffRecord> {
    plan(records, existing)
}

/// A file without an `email` column says nothing of addresses: each person keeps the one the
/// roster has.
pub fn keep_emails(records: &mut [StaffRecord], existing: &[ExistingStaff]) {
    let known: std::collections::HashMap<&str, &Option<String>> = existing
        .iter()
        .map(|person| (person.code.as_str(), &person.email))
        .collect();
    for record in records {
        if let Some(email) = known.get(record.code.as_str()) {
            record.fields.email = (*email).clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lantoa_domain::Role;
    use lantoa_domain::roster::StaffFields;

    fn person(code: &str, unit: &str) -> StaffFields {
        StaffFields {
            code: code.into(),
            full_name: format!("Người {code}"),
            unit_code: unit.into(),
            role: Role::Member,
            phone: None,
            email: None,
        }
    }

    fn record(code: &str, unit: &str) -> StaffRecord {
        Record {
            line: 2,
            fields: person(code, unit),
        }
    }

    fn stored(code: &str, unit: &str, active: bool) -> ExistingStaff {
        Stored {
            fields: person(code, unit),
            active,
        }
    }

    #[test]
    fn keyed_by_code() {
        let existing = [
            stored("A", "T1", true),
            stored("B", "T1", true),
            stored("C", "T1", true),
            stored("D", "T1", false),
            stored("E", "T1", false),
        ];
        let plan = plan_staff(
            vec![
                record("A", "T1"),
                record("B", "T2"),
                record("D", "T1"),
                record("F", "T1"),
            ],
            &existing,
        );
        let codes =
            |records: &[StaffRecord]| records.iter().map(|r| r.code.clone()).collect::<Vec<_>>();
        assert_eq!(codes(&plan.added), ["F"]);
        assert_eq!(codes(&plan.updated), ["B", "D"], "moved, and reactivated");
        assert_eq!(plan.deactivated, ["C"], "E was already inactive");
        assert_eq!(plan.unchanged, 1);
    }
}
