package alerts

import "github.com/ziad/cpra/alert"

// collapse folds the waiting alerts of a lane: runs of repeats within an
// episode keep their last, and blocks of whole waiting episodes become one
// summary episode. The part of the lane after its first place in a group
// is left alone.
func (p *Path) collapse(l *lane) {
	p.claim(l)
	end := len(l.q)
	for i := range l.q {
		if l.q[i].place() != nil {
			end = i
			break
		}
	}
	before := end
	var old []Pending
	if p.cfg.Settled != nil {
		old = append(old, l.q[:end]...)
	}
	seg := foldEpisodes(foldRuns(l.q[:end]), l.sent)
	n := len(seg)
	if n == before {
		return
	}
	if p.cfg.Settled != nil {
		// The outbox forgets what was folded, and records the summaries.
		name, _ := p.info(l)
		for i := range old {
			if !contains(seg, &old[i]) {
				p.cfg.Settled(name, &old[i])
			}
		}
		for i := range seg {
			if !contains(old, &seg[i]) {
				p.cfg.Folded(name, &seg[i])
			}
		}
	}
	rest := l.q[end:]
	q := make([]Pending, 0, n+len(rest))
	q = append(append(q, seg...), rest...)
	l.q = q
	removed := before - n
	p.bytes -= waitCost * int64(removed)
	p.queued -= removed
	p.ctr.Collapsed.Add(uint64(removed))
}

// shrink makes room for one more waiting alert: it collapses the lane that
// raises it (if it has one), then other lanes with alerts to fold, a few
// at a time.
func (p *Path) shrink(l *lane) {
	if l != nil {
		p.collapse(l)
	}
	tried := 0
	p.lanes.all(func(o *lane) bool {
		if p.bytes+waitCost <= p.cfg.Memory || tried == 64 {
			return false
		}
		if o != l && o.waiting() > 2 {
			tried++
			p.collapse(o)
		}
		return true
	})
}

// foldRuns drops an alert followed by one that makes it moot: a reminder
// by the next reminder, a cyan by the next cyan, a gray by the next gray,
// of the same episode. It works in place and returns the shorter slice.
func foldRuns(q []Pending) []Pending {
	out := q[:0]
	for i := range q {
		a := q[i]
		if len(out) > 0 {
			last := &out[len(out)-1]
			if last.Start == a.Start && last.Start != 0 && !last.Ends && moot(last, &a) {
				*last = a
				continue
			}
		}
		out = append(out, a)
	}
	clear(q[len(out):])
	return out
}

func moot(prev, next *Pending) bool {
	switch {
	case prev.Code == alert.Red && prev.Repeat > 0:
		return next.Code == alert.Red && next.Repeat > 0
	case prev.Code == alert.Cyan:
		return next.Code == alert.Cyan
	case prev.Code == alert.Gray:
		return next.Code == alert.Gray && !next.Ends
	}
	return false
}

// foldEpisodes replaces each block of two or more whole waiting episodes
// (none of whose alerts was handed to the notifier: their episode is not
// sent) by one summary episode: the block's first red (or its first
// alert) and its last green, both with the first episode's identity and
// Skipped counting the episodes folded in. Grays between them go too.
func foldEpisodes(q []Pending, sent int64) []Pending {
	type run struct{ i, j int } // q[i:j] is one episode, or grays outside any
	var runs []run
	for i := 0; i < len(q); {
		j := i + 1
		for j < len(q) && q[j].Start == q[i].Start && !q[j-1].Ends {
			j++
		}
		runs = append(runs, run{i, j})
		i = j
	}
	whole := func(r run) bool {
		s := q[r.i].Start
		return s != 0 && s != sent && q[r.j-1].Ends
	}
	out := make([]Pending, 0, len(q))
	for k := 0; k < len(runs); {
		if !whole(runs[k]) {
			out = append(out, q[runs[k].i:runs[k].j]...)
			k++
			continue
		}
		// A block: whole episodes, and the grays outside any between them.
		m, episodes, last := k, 0, k
		for m < len(runs) && (whole(runs[m]) || q[runs[m].i].Start == 0) {
			if whole(runs[m]) {
				episodes++
				last = m
			}
			m++
		}
		if episodes < 2 {
			out = append(out, q[runs[k].i:runs[k].j]...)
			k++
			continue
		}
		first := runs[k]
		lead := q[first.i]
		skipped := -1
		for r := k; r <= last; r++ {
			for i := runs[r].i; i < runs[r].j; i++ {
				if a := q[i]; a.Code == alert.Red && a.Flap == 0 && a.Repeat == 0 && lead.Code != alert.Red {
					lead = a
				}
			}
			if whole(runs[r]) {
				skipped += 1 + int(q[runs[r].j-1].Skipped)
			}
		}
		end := q[runs[last].j-1]
		lead.Start, end.Start = q[first.i].Start, q[first.i].Start
		lead.Skipped = uint16(min(skipped, 1<<16-1))
		end.Skipped = lead.Skipped
		if end.Code == alert.Green {
			end.Flap = 0
			if lead.Flap == alert.FlapStart {
				end.Flap = alert.FlapEnd
			}
		}
		out = append(out, lead, end)
		// Grays outside any episode after the block's last episode stay.
		k = last + 1
	}
	n := copy(q, out)
	clear(q[n:])
	return q[:n]
}

func contains(q []Pending, a *Pending) bool {
	for i := range q {
		if q[i] == *a {
			return true
		}
	}
	return false
}
