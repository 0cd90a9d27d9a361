"""The pure core: CPUID decoding and the compatibility engine.  No Django import below here."""

from .errors import DumpParseError
from .formats import FORMATS, RAW_FORMATS, decode, detect
from .result import DECODER_VERSION, DecodedDump, Identity
from .table import TABLE, Feature

__all__ = [
    "DECODER_VERSION",
    "FORMATS",
    "RAW_FORMATS",
    "TABLE",
    "DecodedDump",
    "DumpParseError",
    "Feature",
    "Identity",
    "decode",
    "detect",
]
