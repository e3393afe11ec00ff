package main

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/ziad/cpra"
)

// statusText is the status line drawn on a terminal, the most telling
// first, since a narrow terminal shows only its start:
//
//	200 monitors: 197 up (2 failing), 3 down | 1000 checks/s (4.5 failed) | 12 remediations (3 failed) | 31 alerts | lag p99 1.2ms | workers pulse=4 intervention=2 alert=1
func statusText(s cpra.Stats, checks, failed float64) string {
	return fmt.Sprintf("%d monitors: %d up (%d failing), %d down | %s checks/s (%s failed) | %d remediations (%d failed) | %d alerts | lag p99 %v | workers pulse=%d intervention=%d alert=%d",
		s.Monitors, s.Up, s.Failing, s.Down, formatRate(checks), formatRate(failed),
		s.Remediations, s.RemediationsFailed, s.AlertsSent, s.Lag.P99.Round(10*time.Microsecond),
		s.Pulse.Workers, s.Intervention.Workers, s.Alert.Workers)
}

// logStatus logs what the status line says, as one "status" event.
func logStatus(log *slog.Logger, s cpra.Stats, checks, failed float64) {
	log.Info("status",
		"monitors", s.Monitors,
		"up", s.Up,
		"failing", s.Failing,
		"down", s.Down,
		"checks_per_s", roundRate(checks),
		"failed_per_s", roundRate(failed),
		"remediations", s.Remediations,
		"remediations_failed", s.RemediationsFailed,
		"alerts_sent", s.AlertsSent,
		"workers", fmt.Sprintf("pulse=%d intervention=%d alert=%d", s.Pulse.Workers, s.Intervention.Workers, s.Alert.Workers),
		"lag_p99", s.Lag.P99,
	)
}

// roundRate rounds a rate as formatRate writes it.
func roundRate(r float64) float64 {
	v, _ := strconv.ParseFloat(formatRate(r), 64)
	return v
}
