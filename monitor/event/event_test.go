package event

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValueClass(t *testing.T) {
	for _, tc := range []struct {
		v    Value
		want string
	}{
		{NumberValue(1), "1"},
		{NumberValue(1.0), "1"},
		{NumberValue(0), "0"},
		{NumberValue(math.Copysign(0, -1)), "-0"},
		{NumberValue(99), "99"},
		{NumberValue(100), "100"},
		{NumberValue(-1), "-1"},
		{NumberValue(0.5), "0.5"},
		{NumberValue(2.5), "2.5"},
		{NumberValue(1e21), "1e+21"},
		{StringValue("spam"), "spam"},
		{StringValue(""), ""},
		{BoolValue(true), "true"},
		{BoolValue(false), "false"},
		{Value{}, ""},
	} {
		t.Run(tc.v.Kind.String()+"/"+tc.want, func(t *testing.T) {
			require.Equal(t, tc.want, tc.v.Class())
		})
	}
	require.Zero(t, testing.AllocsPerRun(10, func() { _ = NumberValue(7).Class() }))
}

func TestStrings(t *testing.T) {
	require.Equal(t, []string{"primary", "canary", "shadow", "Role(3)"},
		[]string{RolePrimary.String(), RoleCanary.String(), RoleShadow.String(), Role(3).String()})
	require.Equal(t, []string{"missing", "number", "string", "bool", "Kind(4)"},
		[]string{Missing.String(), Number.String(), String.String(), Bool.String(), Kind(4).String()})
	require.Equal(t, []string{"json", "ndjson", "Format(2)"}, []string{JSON.String(), NDJSON.String(), Format(2).String()})
	require.Equal(t, "<missing>", Value{}.String())
	require.Equal(t, "1.5", NumberValue(1.5).String())
}

func TestPredictionFeature(t *testing.T) {
	p := Prediction{Features: []Feature{{Name: "a", Value: NumberValue(1)}, {Name: "b"}}}
	v, ok := p.Feature("a")
	require.True(t, ok)
	require.Equal(t, NumberValue(1), v)
	v, ok = p.Feature("b")
	require.True(t, ok)
	require.Equal(t, Missing, v.Kind)
	_, ok = p.Feature("c")
	require.False(t, ok)
}
