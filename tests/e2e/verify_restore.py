"""Run with CASA's Python: for each MS, how the restore left its flags and CORRECTED_DATA."""

import json
import sys

import numpy as np
from casatools import table


def angle_rms(values):
    phase = np.angle(values, deg=True)
    return float(np.sqrt(np.mean(phase**2))) if phase.size else float("nan")


def main() -> None:
    tb = table()
    out = {}
    for ms in sys.argv[1:]:
        tb.open(ms)
        cols = {c: tb.getcol(c) for c in ("FLAG", "DATA", "CORRECTED_DATA", "FIELD_ID")}
        tb.close()
        tb.open(f"{ms}.flagversions/flags.Pipeline_Final")
        final = tb.getcol("FLAG")
        tb.close()
        tb.open(f"{ms}/FIELD")
        names = list(tb.getcol("NAME"))
        tb.close()
        fields = {}
        for fid, name in enumerate(names):
            rows = cols["FIELD_ID"] == fid
            good = ~cols["FLAG"][:, :, rows]
            corrected = cols["CORRECTED_DATA"][:, :, rows][good]
            raw = cols["DATA"][:, :, rows][good]
            fields[name] = {
                "corrected_phase_rms_deg": angle_rms(corrected),
                "raw_phase_rms_deg": angle_rms(raw),
                "corrected_amplitude": float(np.median(np.abs(corrected))),
            }
        out[ms] = {
            "flags_equal_pipeline_final": bool(np.array_equal(cols["FLAG"], final)),
            "flagged_fraction": float(cols["FLAG"].mean()),
            "fields": fields,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
