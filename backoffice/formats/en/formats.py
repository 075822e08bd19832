"""One way to show a moment on every page, in English and German alike: ISO dates, 24-hour
times, and always the zone (T: its abbreviation; moments outside an account's calendar are
shown in UTC, the admin's zone). The account's own calendar uses core.localtime."""

DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
TIME_FORMAT = "H:i T"
