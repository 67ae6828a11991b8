/**
 * Every PostgreSQL advisory-lock key Intake takes, in one list so that no two uses share a key by
 * accident. Any constants will do; they only have to be the same in every instance.
 */
export const ADVISORY_LOCKS = {
  /** Held on a dedicated connection while migrations run: instances starting together migrate once. */
  migrate: 7_041_972_001,
  /** Taken per round of the SLA breach watch: one instance marks overdue deadlines, the others skip. */
  slaBreachWatch: 7_041_972_002,
  /** Taken while an empty installation is made demo-ready: one instance does it, the others find it done. */
  firstStart: 7_041_972_003,
} as const;
