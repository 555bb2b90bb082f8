package event

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDaysFromCivil(t *testing.T) {
	for d := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 10000; d = d.AddDate(0, 0, 1) {
		got := daysFromCivil(d.Year(), int(d.Month()), d.Day())
		if got*86400 != d.Unix() {
			require.Equal(t, d.Unix()/86400, got, d.String())
		}
	}
}
