// Package statuspage serves a status page of a [cpra.Engine]: what is
// down, since when and why, in a browser or as JSON.
//
// # Overview
//
// [New] returns a [Page], an [http.Handler] with these paths, relative to
// where it is mounted:
//
//	/                 counts by condition, the monitors down or failing
//	                  (down first) with since, error and attempts, the
//	                  recent alerts, and a search box
//	/monitors         a listing: ?q= words of the name and key=value
//	                  labels, ?state=down,failing, paged by ?after=
//	/monitors/{name}  one monitor, with its recent alerts
//
// Each path answers HTML rendered on the server (html/template, no
// script), or JSON when the request's Accept header asks for
// application/json. Links are relative, so the page may be mounted under a
// prefix with [http.StripPrefix]:
//
//	mux.Handle("/status/", http.StripPrefix("/status", statuspage.New(engine)))
//
// # Recent alerts
//
// An [AlertLog] keeps the last alerts it was given in a bounded ring. Give
// it every alert the engine raises with the engine's hook, and give it to
// the page:
//
//	log := statuspage.NewAlertLog(100)
//	engine, _ := cpra.New(cpra.WithNotifier(pager), cpra.WithAlertHook(log.Record))
//	page := statuspage.New(engine, statuspage.WithAlertLog(log))
//
// The hook sees the alerts of every monitor, whatever notifier each has.
// [AlertLog.Notifier] wraps one notifier instead, for the alerts that pass
// through it.
//
// # Scale
//
// The page reads the engine through [cpra.Engine.Statuses], a page at a
// time: with a million monitors the first page renders in milliseconds,
// paging uses cursors that stay valid while monitors come and go, and no
// request copies the whole fleet. A search that matches little reads every
// monitor once, a step at a time. The counts by condition read every
// monitor's health in one pass (a few milliseconds of the engine's loop at
// a million); the page reuses them for a second.
//
// # Secrets
//
// The page shows each monitor's name, labels, state and last error. The
// built-in checkers scrub the secrets they were given (URL credentials,
// header values, tokens) from their errors, so none reaches the page; a
// checker of your own must do the same.
//
// # Concurrency
//
// A Page is safe for concurrent use. Each request reads the engine in a
// few short steps in its loop; a running engine is never stopped for a
// request.
package statuspage
