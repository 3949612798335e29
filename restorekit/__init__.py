"""restorekit: restore the calibrated data of an ALMA member ObsUnitSet (MOUS)."""

__version__ = "0.1.0"
