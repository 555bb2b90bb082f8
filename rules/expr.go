package rules

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"

	"cel.dev/cel-go/cel"
	celast "cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// maxExprBytes bounds an expression's source; CEL also caps its nesting.
const maxExprBytes = 4096

// program is a compiled expr: the CEL program and the signals it reads, in
// the order they first appear.
type program struct {
	prg     cel.Program
	signals []Signal
	boolean bool // the expression is a condition; otherwise a number
}

// baseEnv is the CEL environment every expression is parsed in: no macros
// (so no comprehensions: an expression's cost is linear in its size),
// numbers of mixed types compare, and the math extension (math.abs,
// math.greatest, math.least, math.isNaN, ...).
func baseEnv() (*cel.Env, error) {
	return cel.NewEnv(
		cel.ClearMacros(),
		cel.CrossTypeNumericComparisons(true),
		cel.ParserExpressionSizeLimit(maxExprBytes),
		ext.Math(),
	)
}

// compileExpr parses an expression, finds the signals it names (dotted
// identifiers such as quality.accuracy or drift.p_value.ks, and staleness),
// validates them, declares each as a double and type-checks the whole: it
// must be a bool (a condition) or a double (compared with op and threshold).
func compileExpr(src string) (*program, error) {
	if len(src) > maxExprBytes {
		return nil, fmt.Errorf("the expression is longer than %d bytes", maxExprBytes)
	}
	env, err := baseEnv()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	parsed, iss := env.Parse(src)
	if iss.Err() != nil {
		return nil, celError(iss.Err())
	}
	names := signalNames(parsed.NativeRep())
	if len(names) == 0 {
		if _, iss := env.Check(parsed); iss.Err() != nil {
			return nil, celError(iss.Err())
		}
		return nil, errors.New("the expression reads no signal (name one such as quality.accuracy)")
	}
	opts := make([]cel.EnvOption, 0, len(names))
	p := &program{}
	for _, n := range names {
		s, err := ParseSignal(n)
		if err != nil {
			return nil, err
		}
		p.signals = append(p.signals, s)
		opts = append(opts, cel.Variable(n, cel.DoubleType))
	}
	env, err = env.Extend(opts...)
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	checked, iss := env.Check(parsed)
	if iss.Err() != nil {
		return nil, celError(iss.Err())
	}
	switch t := checked.OutputType(); {
	case t.IsExactType(types.BoolType):
		p.boolean = true
	case t.IsExactType(types.DoubleType):
	default:
		return nil, fmt.Errorf("the expression is of type %s: it must be a condition (bool) or a number (double)", t)
	}
	p.prg, err = env.Program(checked, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, celError(err)
	}
	return p, nil
}

// celError keeps CEL's message (with its position and caret) but drops the
// "ERROR: <input>:" boilerplate.
func celError(err error) error {
	msg := strings.ReplaceAll(err.Error(), "ERROR: <input>:", "at ")
	return errors.New(strings.TrimSpace(msg))
}

// signalNames returns the qualified names in the expression whose first part
// is a signal family, each once, in order of appearance.
func signalNames(a *celast.AST) []string {
	var names []string
	root := celast.NavigateAST(a)
	nodes := celast.MatchDescendants(root, func(e celast.NavigableExpr) bool {
		return e.Kind() == celast.SelectKind || e.Kind() == celast.IdentKind
	})
	// MatchDescendants is post-order; sort by source offset for a stable order.
	type found struct {
		name string
		pos  int32
	}
	var all []found
	for _, n := range nodes {
		if p, ok := n.Parent(); ok && p.Kind() == celast.SelectKind {
			continue // part of a longer name
		}
		name, rootID, ok := qualifiedName(n)
		if !ok {
			continue
		}
		family, _, _ := strings.Cut(name, ".")
		if !slices.Contains(signalFamilies, family) {
			continue // not a signal; the type-checker reports undeclared names
		}
		r, _ := a.SourceInfo().GetOffsetRange(rootID)
		all = append(all, found{name, r.Start})
	}
	slices.SortStableFunc(all, func(x, y found) int { return cmp.Compare(x.pos, y.pos) })
	for _, f := range all {
		if !slices.Contains(names, f.name) {
			names = append(names, f.name)
		}
	}
	return names
}

// qualifiedName returns a.b.c for a chain of selects ending in an
// identifier, and the identifier's node ID.
func qualifiedName(e celast.Expr) (string, int64, bool) {
	switch e.Kind() {
	case celast.IdentKind:
		return e.AsIdent(), e.ID(), true
	case celast.SelectKind:
		s := e.AsSelect()
		prefix, id, ok := qualifiedName(s.Operand())
		if !ok {
			return "", 0, false
		}
		return prefix + "." + s.FieldName(), id, true
	}
	return "", 0, false
}

// activation hands a program its signals' values without a map.
type activation struct {
	names []string
	vals  []float64
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	for i, n := range a.names {
		if n == name {
			return types.Double(a.vals[i]), true
		}
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// eval runs the program over act. A boolean result is returned as 1 or 0.
func (p *program) eval(act *activation) (float64, error) {
	out, _, err := p.prg.Eval(act)
	if err != nil {
		return 0, err
	}
	switch v := out.(type) {
	case types.Bool:
		if v {
			return 1, nil
		}
		return 0, nil
	case types.Double:
		return float64(v), nil
	}
	return 0, fmt.Errorf("the expression returned %s, not a number or bool", out.Type())
}
