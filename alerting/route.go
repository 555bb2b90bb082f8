package alerting

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/alertmanager/pkg/labels"
)

// route is a node of the compiled routing tree, with inherited options resolved.
type route struct {
	parent   *route
	idx      int    // unique within the tree (depth-first order)
	key      string // Alertmanager's route key: the matchers of the path from the root
	matchers labels.Matchers
	cont     bool
	children []*route

	receiver       string
	groupBy        []string // sorted; nil with groupByAll
	groupByAll     bool
	groupWait      time.Duration
	groupInterval  time.Duration
	repeatInterval time.Duration
	mute, active   []string
}

// compileRoute builds the tree from a validated config.
func compileRoute(cr *Route) *route {
	n := 0
	root := &route{
		groupBy:        []string{},
		groupWait:      DefaultGroupWait,
		groupInterval:  DefaultGroupInterval,
		repeatInterval: DefaultRepeatInterval,
	}
	compileInto(root, cr, nil, &n)
	return root
}

func compileInto(r *route, cr *Route, parent *route, n *int) {
	if parent != nil {
		*r = route{
			receiver: parent.receiver, groupBy: parent.groupBy, groupByAll: parent.groupByAll,
			groupWait: parent.groupWait, groupInterval: parent.groupInterval, repeatInterval: parent.repeatInterval,
		}
	}
	r.parent = parent
	r.idx = *n
	*n++
	r.matchers, _ = cr.matchers() // validated
	r.cont = cr.Continue
	if cr.Receiver != "" {
		r.receiver = cr.Receiver
	}
	if cr.GroupBy != nil {
		r.groupByAll = len(cr.GroupBy) == 1 && cr.GroupBy[0] == "..."
		r.groupBy = nil
		if !r.groupByAll {
			r.groupBy = append([]string{}, slices.Sorted(slices.Values(cr.GroupBy))...)
		}
	}
	if cr.GroupWait != nil {
		r.groupWait = time.Duration(*cr.GroupWait)
	}
	if cr.GroupInterval != nil {
		r.groupInterval = time.Duration(*cr.GroupInterval)
	}
	if cr.RepeatInterval != nil {
		r.repeatInterval = time.Duration(*cr.RepeatInterval)
	}
	r.mute, r.active = cr.MuteTimeIntervals, cr.ActiveTimeIntervals
	var b strings.Builder
	if parent != nil {
		b.WriteString(parent.key)
		b.WriteByte('/')
	}
	b.WriteString(r.matchers.String())
	r.key = b.String()
	for _, ch := range cr.Routes {
		c := &route{}
		compileInto(c, ch, r, n)
		r.children = append(r.children, c)
	}
}

// match descends the tree as Alertmanager does: depth-first, left to right; a matching
// child without continue stops the search among its siblings; a node none of whose
// children match takes the alert itself.
func (r *route) match(l map[string]string, out []*route) []*route {
	if !matches(r.matchers, l) {
		return out
	}
	start := len(out)
	for _, c := range r.children {
		before := len(out)
		out = c.match(l, out)
		if len(out) > before && !c.cont {
			break
		}
	}
	if len(out) == start {
		out = append(out, r)
	}
	return out
}

// groupLabels returns the alert's labels the route groups by.
func (r *route) groupLabels(l map[string]string) map[string]string {
	if r.groupByAll {
		out := make(map[string]string, len(l))
		for k, v := range l {
			out[k] = v
		}
		return out
	}
	out := make(map[string]string, len(r.groupBy))
	for _, k := range r.groupBy {
		if v, ok := l[k]; ok {
			out[k] = v
		}
	}
	return out
}

// groupKey is the group's stable identity: the route key and the group labels
// ({}/{severity="critical"}:{alertname="AccuracyDrop", model="fraud"}). It survives
// restarts and reloads that keep the route's matchers.
func (r *route) groupKey(groupLabels map[string]string) string {
	return r.key + ":" + labelsString(groupLabels)
}

// id names the route uniquely within one compiled tree.
func (r *route) id() string { return strconv.Itoa(r.idx) }
