package event

import (
	"encoding/binary"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// This file is a small JSON scanner over a byte slice. It accepts exactly
// what encoding/json.Valid accepts (including its nesting limit), except
// that strings must also be valid UTF-8, and its error messages follow
// encoding/json's.
//
// Scanning functions take the position of the token in d.buf and return the
// position just after it, or -1 after recording a syntax error with d.syntax.

// maxDepth is encoding/json's nesting limit: 10000 nested arrays or objects
// are valid, 10001 are not.
const maxDepth = 10000

// Token kinds returned by Decoder.scalar.
const (
	tokString = iota + 1
	tokNumber
	tokTrue
	tokFalse
	tokNull
	tokObject // skipped
	tokArray  // skipped
)

var tokNames = [...]string{tokString: "string", tokNumber: "number", tokTrue: "bool", tokFalse: "bool", tokNull: "null", tokObject: "object", tokArray: "array"}

// strPlain marks the bytes that a string can hold without a closer look:
// printable ASCII except '"' and '\\'.
var strPlain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// ws returns the position of the first non-whitespace byte at or after i.
func (d *Decoder) ws(i int) int {
	b := d.buf
	for i < len(b) {
		switch b[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

// syntax records a syntax error at position i of d.buf and returns -1.
func (d *Decoder) syntax(i int, msg string) int {
	if d.serr == nil {
		off := d.base + i
		line, col := d.line, i+1
		if line == 0 {
			line, col = 1, 1
			for _, c := range d.body[:off] {
				if c == '\n' {
					line, col = line+1, 1
				} else {
					col++
				}
			}
		}
		d.serr = &SyntaxError{Offset: off, Line: line, Column: col, Msg: msg}
	}
	return -1
}

// unexpected records "invalid character ... <context>" at i, or
// "unexpected end of JSON input" when i is at the end.
func (d *Decoder) unexpected(i int, context string) int {
	if i >= len(d.buf) {
		return d.syntax(i, "unexpected end of JSON input")
	}
	return d.syntax(i, "invalid character "+quoteChar(d.buf[i])+" "+context)
}

// badEscape reports the escape sequence d.buf[start:end] (from its backslash), worded as
// encoding/json words it since Go 1.27; the offset is that of its last byte.
func (d *Decoder) badEscape(start, end int) int {
	seq := string(d.buf[start:end])
	// Quoted as encoding/json's jsonwire quotes it: a backtick, a byte that is not UTF-8,
	// white space or anything not printable makes it strconv.Quote (\xff, \t).
	if strings.ContainsFunc(seq, func(r rune) bool {
		return r == '`' || r == utf8.RuneError || unicode.IsSpace(r) || !unicode.IsPrint(r)
	}) {
		seq = strconv.Quote(seq)
	} else {
		seq = "`" + seq + "`"
	}
	return d.syntax(end-1, "invalid escape sequence "+seq+" in string")
}

func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x80:
		return `'\x` + strconv.FormatUint(uint64(c)>>4, 16) + strconv.FormatUint(uint64(c)&15, 16) + `'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

// SWAR (SIMD within a register) constants for scanning strings 8 bytes at a time.
const (
	lsb      = 0x0101010101010101
	msb      = 0x8080808080808080
	quotes   = '"' * lsb
	slashes  = '\\' * lsb
	controls = 0x20 * lsb
)

// special returns a word with the high bit set in each byte of x (8 string
// bytes, little endian) that needs a closer look: '"', '\\', a control
// character or a non-ASCII byte. Only the lowest set bit is exact: the
// borrows of the subtractions can flag bytes above it.
func special(x uint64) uint64 {
	q := x ^ quotes
	s := x ^ slashes
	return ((q-lsb)&^q | (s-lsb)&^s | (x-controls)&^x | x) & msb
}

// plainRun returns the first position at or after j, in b, of a byte that
// is not a plain string byte (see strPlain), or len(b).
func plainRun(b []byte, j int) int {
	for j+8 <= len(b) {
		if m := special(binary.LittleEndian.Uint64(b[j:])); m != 0 {
			return j + bits.TrailingZeros64(m)>>3
		}
		j += 8
	}
	for j < len(b) && strPlain[b[j]] {
		j++
	}
	return j
}

// str scans the string starting at d.buf[i] == '"'. It returns its decoded
// content, which aliases d.buf or, when the string has escapes, d.scratch
// (valid until the next call of str).
func (d *Decoder) str(i int) ([]byte, int) {
	b := d.buf
	j := plainRun(b, i+1)
	if j < len(b) && b[j] == '"' {
		return b[i+1 : j], j + 1
	}
	return d.strSlow(i, j)
}

// strSlow continues str at j, the first byte that needs a closer look.
func (d *Decoder) strSlow(i, j int) ([]byte, int) {
	b := d.buf
	out := d.scratch[:0]
	escaped := false
	start := i + 1 // start of the bytes not yet copied to out
	for {
		if j = plainRun(b, j); j >= len(b) {
			return nil, d.unexpected(j, "")
		}
		switch c := b[j]; {
		case c == '"':
			if !escaped {
				return b[i+1 : j], j + 1
			}
			out = append(out, b[start:j]...)
			d.scratch = out
			return out, j + 1
		case c == '\\':
			out = append(out, b[start:j]...)
			escaped = true
			if j+1 >= len(b) {
				return nil, d.unexpected(j+1, "")
			}
			switch e := b[j+1]; e {
			case '"', '\\', '/':
				out = append(out, e)
				j += 2
			case 'b':
				out, j = append(out, '\b'), j+2
			case 'f':
				out, j = append(out, '\f'), j+2
			case 'n':
				out, j = append(out, '\n'), j+2
			case 'r':
				out, j = append(out, '\r'), j+2
			case 't':
				out, j = append(out, '\t'), j+2
			case 'u':
				r, n := d.hex4(j + 2)
				if n < 0 {
					return nil, -1
				}
				j = n
				if utf16IsSurrogate(r) {
					// A high surrogate followed by an escaped low surrogate is
					// one rune; anything else decodes to U+FFFD, as in
					// encoding/json.
					r2 := rune(-1)
					if r < 0xDC00 && j+1 < len(b) && b[j] == '\\' && b[j+1] == 'u' {
						var n2 int
						if r2, n2 = d.hex4(j + 2); n2 < 0 {
							return nil, -1
						}
						if 0xDC00 <= r2 && r2 < 0xE000 {
							r = 0x10000 + (r-0xD800)<<10 + (r2 - 0xDC00)
							j = n2
						} else {
							r = utf8.RuneError
						}
					} else {
						r = utf8.RuneError
					}
				}
				out = utf8.AppendRune(out, r)
			default:
				// One byte, as encoding/json shows it, even when it starts a longer character.
				return nil, d.badEscape(j, j+2)
			}
			start = j
		case c < 0x20:
			return nil, d.unexpected(j, "in string")
		default: // c >= 0x80
			r, n := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && n <= 1 {
				return nil, d.syntax(j, "invalid UTF-8 in string")
			}
			j += n
		}
	}
}

func utf16IsSurrogate(r rune) bool { return 0xD800 <= r && r < 0xE000 }

// hex4 reads the 4 hex digits of a \u escape at d.buf[i:].
func (d *Decoder) hex4(i int) (rune, int) {
	b := d.buf
	var r rune
	for k := range 4 {
		if i+k >= len(b) {
			return 0, d.unexpected(i+k, "")
		}
		c := b[i+k]
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, d.badEscape(i-2, min(i+4, len(b)))
		}
		r = r<<4 | rune(c)
	}
	return r, i + 4
}

// skipStr validates the string at d.buf[i] == '"' without keeping it.
func (d *Decoder) skipStr(i int) int {
	b := d.buf
	j := plainRun(b, i+1)
	if j < len(b) && b[j] == '"' {
		return j + 1
	}
	_, j = d.strSlow(i, j)
	return j
}

// number is a scanned JSON number, without its text (the caller has its
// position), so that it stays in registers.
type number struct {
	// The value is ±mant × 10^exp, exactly, when exp ≤ 0 (the fast path:
	// mant < 10^15 and exp ≥ -22, which float64 arithmetic converts
	// correctly rounded). exp is 1 when the number needs strconv.
	mant uint64
	exp  int
	neg  bool
}

// exact converts n when n.exp ≤ 0.
func (n number) exact() float64 {
	f := float64(n.mant) / pow10[-n.exp&31] // pow10[0] is 1: exact
	if n.neg {
		f = -f
	}
	return f
}

// num scans the number at d.buf[i].
func (d *Decoder) num(i int) (number, int) {
	b := d.buf
	j := i
	neg := false
	if j < len(b) && b[j] == '-' {
		neg = true
		j++
	}
	var mant uint64
	digits, exp := 0, 0
	if j >= len(b) {
		return number{}, d.unexpected(j, "")
	}
	switch c := b[j]; {
	case c == '0':
		j++
	case '1' <= c && c <= '9':
		for ; j < len(b); j++ {
			c := b[j] - '0'
			if c > 9 {
				break
			}
			mant = mant*10 + uint64(c)
			digits++
		}
	default:
		return number{}, d.unexpected(j, "in numeric literal")
	}
	if j < len(b) && b[j] == '.' {
		j++
		start := j
		for ; j < len(b); j++ {
			c := b[j] - '0'
			if c > 9 {
				break
			}
			if mant != 0 || c != 0 {
				digits++
			}
			mant = mant*10 + uint64(c)
		}
		if j == start {
			return number{}, d.unexpected(j, "in numeric literal")
		}
		exp = start - j
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		exp = 1
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		start := j
		for j < len(b) && b[j]-'0' <= 9 {
			j++
		}
		if j == start {
			return number{}, d.unexpected(j, "in numeric literal")
		}
	}
	if digits > 15 || exp < -22 {
		exp = 1 // mant may have overflowed, or the division is inexact
	}
	return number{mant: mant, exp: exp, neg: neg}, j
}

// lit scans the literal word (true, false or null) at d.buf[i].
func (d *Decoder) lit(i int, word string) int {
	b := d.buf
	for k := 1; k < len(word); k++ {
		if i+k >= len(b) || b[i+k] != word[k] {
			return d.unexpected(i+k, "in literal "+word+" (expecting "+quoteChar(word[k])+")")
		}
	}
	return i + len(word)
}

// scalar scans the value at d.buf[i]. Strings and numbers come back as
// their content and literal text; objects and arrays are validated and
// skipped. depth is the nesting depth of the enclosing container.
func (d *Decoder) scalar(i, depth int) (kind int, raw []byte, next int) {
	b := d.buf
	if i >= len(b) {
		return 0, nil, d.unexpected(i, "")
	}
	switch c := b[i]; c {
	case '"':
		raw, next = d.str(i)
		return tokString, raw, next
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		_, next = d.num(i)
		if next < 0 {
			return 0, nil, -1
		}
		return tokNumber, b[i:next], next
	case 't':
		return tokTrue, nil, d.lit(i, "true")
	case 'f':
		return tokFalse, nil, d.lit(i, "false")
	case 'n':
		return tokNull, nil, d.lit(i, "null")
	case '{':
		return tokObject, nil, d.skip(i, depth)
	case '[':
		return tokArray, nil, d.skip(i, depth)
	}
	return 0, nil, d.unexpected(i, "looking for beginning of value")
}

// skip validates and skips the value at d.buf[i]; depth is the nesting depth
// of the enclosing container.
func (d *Decoder) skip(i, depth int) int {
	b := d.buf
	stack := d.stack[:0]
	defer func() { d.stack = stack[:0] }()
	for {
		// A value starts at i.
		if i >= len(b) {
			return d.unexpected(i, "")
		}
		switch c := b[i]; c {
		case '{', '[':
			if depth+len(stack)+1 > maxDepth {
				return d.syntax(i, "exceeded max depth")
			}
			stack = append(stack, c)
			i = d.ws(i + 1)
			if i < len(b) && b[i] == c+2 { // '}' or ']'
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				if i = d.key(i); i < 0 {
					return -1
				}
			}
			continue
		case '"':
			i = d.skipStr(i)
		case 't':
			i = d.lit(i, "true")
		case 'f':
			i = d.lit(i, "false")
		case 'n':
			i = d.lit(i, "null")
		default:
			if c == '-' || '0' <= c && c <= '9' {
				_, i = d.num(i)
			} else {
				return d.unexpected(i, "looking for beginning of value")
			}
		}
		// After a value: close containers or find the next value.
		for {
			if i < 0 {
				return -1
			}
			if len(stack) == 0 {
				return i
			}
			i = d.ws(i)
			top := stack[len(stack)-1]
			if i < len(b) && b[i] == ',' {
				i = d.ws(i + 1)
				if top == '{' {
					i = d.key(i)
				}
				break
			}
			if i < len(b) && b[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if top == '{' {
				return d.unexpected(i, "after object key:value pair")
			}
			return d.unexpected(i, "after array element")
		}
		if i < 0 {
			return -1
		}
	}
}

// key validates an object key and its colon at d.buf[i] and returns the
// position of the value.
func (d *Decoder) key(i int) int {
	b := d.buf
	if i >= len(b) || b[i] != '"' {
		return d.unexpected(i, "looking for beginning of object key string")
	}
	if i = d.skipStr(i); i < 0 {
		return -1
	}
	i = d.ws(i)
	if i >= len(b) || b[i] != ':' {
		return d.unexpected(i, "after object key")
	}
	return d.ws(i + 1)
}

// pow10 holds the powers of ten that float64 represents exactly; with a
// mantissa below 2^53, one correctly rounded division by them gives the
// correctly rounded result (Clinger's fast path, as in strconv).
var pow10 = [32]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat converts a valid JSON number literal to float64. It reports
// false when the number overflows float64.
func parseFloat(lit []byte) (float64, bool) {
	var n number
	i, digits, dot := 0, 0, false
	if lit[0] == '-' {
		n.neg = true
		i++
	}
	for ; i < len(lit); i++ {
		switch c := lit[i]; {
		case c-'0' <= 9:
			if n.mant != 0 || c != '0' {
				digits++
			}
			n.mant = n.mant*10 + uint64(c-'0')
			if dot {
				n.exp--
			}
		case c == '.':
			dot = true
		default: // exponent
			return parseFloatSlow(lit)
		}
	}
	if digits > 15 || n.exp < -22 {
		return parseFloatSlow(lit)
	}
	return n.exact(), true
}

func parseFloatSlow(lit []byte) (float64, bool) {
	f, err := strconv.ParseFloat(string(lit), 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}
