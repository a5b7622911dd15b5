"""Date formats for the admin (FORMAT_MODULE_PATH): every timestamp with seconds and its time zone.

Django's English default ("N j, Y, P") shows "Dec. 1, 2026, 7:43 p.m.": rows a few seconds
apart read the same, and the zone is not said.
"""

DATETIME_FORMAT = "Y-m-d H:i:s T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i:s T"
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
TIME_FORMAT = "H:i:s"
