// Danish public holidays from date-holidays, a maintained calendar that knows, for example, that
// Store Bededag was abolished from 2024. Only days of type "public" count: Grundlovsdag and
// Christmas Eve are customary days off, not public holidays, and a declaration that excludes them
// names them as a window of its own.
import Holidays from 'date-holidays';

let calendar: Holidays | undefined;
const byYear = new Map<number, readonly string[]>();

/** Local dates (YYYY-MM-DD) of Denmark's public holidays in `year`. */
export function holidaysOf(year: number): readonly string[] {
  let dates = byYear.get(year);
  if (dates === undefined) {
    calendar ??= new Holidays('DK');
    dates = calendar
      .getHolidays(year)
      .filter((h) => h.type === 'public')
      .map((h) => h.date.slice(0, 10));
    byYear.set(year, dates);
  }
  return dates;
}
