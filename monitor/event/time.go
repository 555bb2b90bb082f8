package event

import (
	"math"
	"time"
)

// maxUnix is 10000-01-01T00:00:00Z in Unix seconds: timestamps must fall in
// the years 1970 to 9999.
const maxUnix = 253402300800

const timestampForms = `an RFC 3339 time (such as "2026-11-24T10:00:00Z") or Unix seconds`

// parseRFC3339 parses an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SS[.frac]Z or
// ±HH:MM; T and Z may be lower case) from 1970 to 9999 and returns it in
// UTC. On failure it returns a message for the person who sent it.
func parseRFC3339(s []byte) (time.Time, string) {
	bad := func(why string) (time.Time, string) {
		return time.Time{}, quoteValue(string(s)) + " is not a valid RFC 3339 time: " + why
	}
	if len(s) < len("2006-01-02T15:04:05Z") {
		isDate := len(s) >= 10 && digitsAt(s, 0, 4) && s[4] == '-' && digitsAt(s, 5, 2) && s[7] == '-' && digitsAt(s, 8, 2)
		switch {
		case isDate && len(s) == 10:
			return bad("a date alone has no time of day")
		case isDate && len(s) == 19 && (s[10] == 'T' || s[10] == 't'):
			return bad(`it has no time zone; append "Z" for UTC or an offset such as "+01:00"`)
		case isDate && len(s) == 19:
			return bad(`date and time must be separated by "T", and a time zone must follow`)
		}
		return time.Time{}, quoteValue(string(s)) + " is not " + timestampForms
	}
	if !digitsAt(s, 0, 4) || s[4] != '-' || !digitsAt(s, 5, 2) || s[7] != '-' || !digitsAt(s, 8, 2) ||
		!digitsAt(s, 11, 2) || s[13] != ':' || !digitsAt(s, 14, 2) || s[16] != ':' || !digitsAt(s, 17, 2) {
		return time.Time{}, quoteValue(string(s)) + " is not " + timestampForms
	}
	if s[10] != 'T' && s[10] != 't' {
		return bad(`date and time must be separated by "T"`)
	}
	year := atoi(s[0:4])
	month := atoi(s[5:7])
	day := atoi(s[8:10])
	hour := atoi(s[11:13])
	minute := atoi(s[14:16])
	sec := atoi(s[17:19])
	switch {
	case month < 1 || month > 12:
		return bad("month out of range")
	case day < 1 || day > daysIn(year, month):
		return bad("day out of range")
	case hour > 23:
		return bad("hour out of range")
	case minute > 59:
		return bad("minute out of range")
	case sec > 59:
		return bad("second out of range")
	}
	i := 19
	nsec := 0
	if s[i] == '.' {
		i++
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			if i-start < 9 {
				nsec = nsec*10 + int(s[i]-'0')
			}
			i++
		}
		if i == start {
			return bad("expected digits after the decimal point")
		}
		for k := i - start; k < 9; k++ {
			nsec *= 10
		}
	}
	if i >= len(s) {
		return bad(`it has no time zone; append "Z" for UTC or an offset such as "+01:00"`)
	}
	offset := 0
	switch s[i] {
	case 'Z', 'z':
		i++
	case '+', '-':
		if len(s)-i != 6 || !digitsAt(s, i+1, 2) || s[i+3] != ':' || !digitsAt(s, i+4, 2) {
			return bad("expected a time zone offset such as +01:00")
		}
		oh, om := atoi(s[i+1:i+3]), atoi(s[i+4:i+6])
		if oh > 23 || om > 59 {
			return bad("time zone offset out of range")
		}
		offset = (oh*60 + om) * 60
		if s[i] == '-' {
			offset = -offset
		}
		i += 6
	default:
		return bad(`expected "Z" or an offset such as "+01:00" after the time`)
	}
	if i != len(s) {
		return bad("unexpected text after the time zone")
	}
	unix := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	switch {
	case unix < 0:
		return bad("it is before 1970")
	case unix >= maxUnix:
		return bad("it is after the year 9999")
	}
	return time.Unix(unix, int64(nsec)).UTC(), ""
}

// daysFromCivil returns the number of days from 1970-01-01 to the given
// proleptic Gregorian date (Howard Hinnant's algorithm); it is much cheaper
// than time.Date.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func digitsAt(s []byte, i, n int) bool {
	if i+n > len(s) {
		return false
	}
	for _, c := range s[i : i+n] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func atoi(s []byte) int {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
	}
	return n
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// parseUnix converts a JSON number literal of Unix seconds to a time in UTC.
// Decimal literals are converted exactly (to the nanosecond).
func parseUnix(lit []byte) (time.Time, string) {
	bad := func(why string) (time.Time, string) {
		return time.Time{}, "Unix time " + shorten(lit) + " " + why
	}
	if lit[0] == '-' {
		return bad("is negative; expected " + timestampForms)
	}
	// Fast, exact path: digits[.digits].
	var sec int64
	nsec := int64(0)
	i := 0
	for ; i < len(lit) && '0' <= lit[i] && lit[i] <= '9'; i++ {
		if sec < 1e15 {
			sec = sec*10 + int64(lit[i]-'0')
		}
	}
	if i < len(lit) && lit[i] == '.' {
		i++
		start := i
		for ; i < len(lit) && '0' <= lit[i] && lit[i] <= '9'; i++ {
			if i-start < 9 {
				nsec = nsec*10 + int64(lit[i]-'0')
			}
		}
		for k := i - start; k < 9; k++ {
			nsec *= 10
		}
	}
	if i < len(lit) { // exponent: go through float64
		f, ok := parseFloat(lit)
		if !ok || f >= maxUnix {
			return bad(outOfRange(f))
		}
		whole, frac := math.Modf(f)
		sec, nsec = int64(whole), int64(math.Round(frac*1e9))
		if nsec >= 1e9 {
			sec, nsec = sec+1, nsec-1e9
		}
	}
	if sec >= maxUnix {
		return bad(outOfRange(float64(sec)))
	}
	return time.Unix(sec, nsec).UTC(), ""
}

func outOfRange(f float64) string {
	msg := "is after the year 9999"
	if f >= 1e11 && f < 1e20 {
		msg += "; timestamps are Unix seconds, not milliseconds, microseconds or nanoseconds"
	}
	return msg
}

// shorten returns the text of a literal for an error message, cut if long.
func shorten(lit []byte) string {
	if len(lit) > 40 {
		return string(lit[:40]) + "…"
	}
	return string(lit)
}
