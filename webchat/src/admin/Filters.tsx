import type { Filter } from "./types";
import type { AT } from "./i18n";

export const CHANNELS = ["web", "slack", "telegram", "mattermost", "api"];
const PRESETS = [7, 30, 90] as const;

/** Period (7 / 30 / 90 days or explicit dates) and channel; every admin page reads the same filter. */
export function Filters({ filter, onChange, t }: { filter: Filter; onChange: (f: Filter) => void; t: AT }) {
  const custom = filter.from !== null && filter.to !== null;
  return (
    <div className="admin-filters" role="group" aria-label={t("period")}>
      <div className="segmented">
        {PRESETS.map((d) => (
          <button key={d} type="button" aria-pressed={!custom && filter.days === d}
            onClick={() => onChange({ ...filter, days: d, from: null, to: null })}>
            {t(d === 7 ? "last7" : d === 30 ? "last30" : "last90")}
          </button>
        ))}
      </div>
      <label className="date">
        <span>{t("from")}</span>
        <input type="date" value={filter.from ?? ""} max={filter.to ?? undefined}
          onChange={(e) => onChange({ ...filter, from: e.target.value || null, to: filter.to ?? e.target.value })} />
      </label>
      <label className="date">
        <span>{t("to")}</span>
        <input type="date" value={filter.to ?? ""} min={filter.from ?? undefined}
          onChange={(e) => onChange({ ...filter, to: e.target.value || null, from: filter.from ?? e.target.value })} />
      </label>
      <label>
        <span className="sr-only">{t("channel")}</span>
        <select aria-label={t("channel")} value={filter.channel ?? ""}
          onChange={(e) => onChange({ ...filter, channel: e.target.value || null })}>
          <option value="">{t("allChannels")}</option>
          {CHANNELS.map((c) => <option key={c} value={c}>{c}</option>)}
        </select>
      </label>
    </div>
  );
}
