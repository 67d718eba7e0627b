// The Danish names of a service window's phases, the same in e-mails and chat messages.
export const MAINTENANCE_TITLES_DA = {
  announced: 'Planlagt servicevindue',
  started: 'Servicevindue i gang',
  ended: 'Servicevindue afsluttet',
  endedEarly: 'Servicevindue afsluttet før tid',
  cancelled: 'Servicevindue aflyst',
} as const;
