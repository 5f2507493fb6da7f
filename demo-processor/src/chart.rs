//! An SVG chart of live heap bytes over time: one line per report, the
//! budget and the breaker's warn, refuse and cancel lines, trips, cancelled
//! users and leak alerts marked.

use std::path::Path;

use plotters::prelude::*;

use crate::config::Mode;
use crate::report::JobReport;
use crate::timeline::TimelinePoint;

const MIB: f64 = 1024.0 * 1024.0;
/// The plot's size in pixels.
const SIZE: (u32, u32) = (1000, 560);
/// Room a marker's label takes, in pixels (14 px text, up to about 24
/// characters), for keeping it inside the plot.
const LABEL_BOX: (i32, i32) = (190, 18);
/// Space below 0 on the y axis, as a share of its top: a line that stays
/// near 0 (streaming's 1 MiB under a 256 MiB budget) is drawn above the
/// axis, not on it.
const BELOW_ZERO: f64 = 0.03;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChartError {
    /// Only SVG is built in (plotters' bitmap backend is not a dependency).
    #[error("cannot draw {path}: only .svg charts are supported")]
    Format {
        /// The path asked for.
        path: String,
    },
    /// No report has a timeline (the counting allocator was not installed,
    /// or the timeline was not recorded).
    #[error("nothing to draw: no report has a live-bytes timeline")]
    Empty,
    /// plotters failed (usually the file could not be written).
    #[error("cannot draw {path}: {reason}")]
    Draw {
        /// The path asked for.
        path: String,
        /// plotters' message.
        reason: String,
    },
}

/// The shape of an event's marker.
#[derive(Clone, Copy)]
enum Mark {
    /// The breaker stopped the job.
    Cross,
    /// A user cancelled in flight.
    Circle,
    /// A leak alert.
    Triangle,
}

/// Where a marker's label goes, in pixels from the marker at `pixel`: to
/// the right and above (below with `below`: a leak alert sits on a rising
/// line, which passes above-right of it), or wherever keeps it inside
/// `plot` (left of a marker near the right edge, below one near the top,
/// above one near the bottom), so no label is clipped and none covers its
/// point.
fn label_offset(
    pixel: (i32, i32),
    plot: (std::ops::Range<i32>, std::ops::Range<i32>),
    below: bool,
) -> (i32, i32) {
    let (x, y) = pixel;
    let (xs, ys) = plot;
    let dx = if x + 12 + LABEL_BOX.0 > xs.end {
        -12 - LABEL_BOX.0
    } else {
        12
    };
    let dy = if (below || y - 22 < ys.start) && y + 8 + LABEL_BOX.1 <= ys.end {
        8
    } else {
        -22
    };
    (dx, dy.max(-(y - ys.start)).min((ys.end - LABEL_BOX.1) - y))
}

/// Whether `path` names a chart this build can draw (ends in `.svg`).
pub fn is_supported(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("svg"))
}

/// The most points drawn per series; longer timelines keep each bucket's
/// maximum, so peaks survive and the file stays small.
const MAX_POINTS: usize = 800;

/// `(seconds, MiB)` points of a timeline, at most [`MAX_POINTS`].
fn downsample(timeline: &[TimelinePoint]) -> Vec<(f64, f64)> {
    let bucket = timeline.len().div_ceil(MAX_POINTS).max(1);
    timeline
        .chunks(bucket)
        .filter_map(|chunk| chunk.iter().max_by_key(|p| p.live_bytes))
        .map(|p| (p.t_ms as f64 / 1000.0, p.live_bytes as f64 / MIB))
        .collect()
}

fn color(mode: Mode) -> RGBColor {
    match mode {
        Mode::Naive => RGBColor(214, 39, 40),
        Mode::Streaming => RGBColor(31, 119, 180),
    }
}

/// Draws the reports' timelines into an SVG file at `path`, replacing it
/// atomically: a temporary file in the same directory renamed over `path`,
/// so a failed write leaves what was there.
pub fn draw(path: &Path, reports: &[&JobReport]) -> Result<(), ChartError> {
    let shown = path.display().to_string();
    if !is_supported(path) {
        return Err(ChartError::Format { path: shown });
    }
    let svg = render(reports).map_err(|error| match error {
        ChartError::Draw { reason, .. } => ChartError::Draw {
            path: shown.clone(),
            reason,
        },
        other => other,
    })?;
    crate::atomic::write_atomically(path, |w| w.write_all(svg.as_bytes())).map_err(|error| {
        ChartError::Draw {
            path: shown,
            reason: error.to_string(),
        }
    })
}

/// The reports' timelines as an SVG document.
pub fn render(reports: &[&JobReport]) -> Result<String, ChartError> {
    if reports.iter().all(|r| r.timeline.is_empty()) {
        return Err(ChartError::Empty);
    }
    let mut svg = String::new();
    draw_on(&mut svg, reports)?;
    Ok(svg)
}

fn draw_on(svg: &mut String, reports: &[&JobReport]) -> Result<(), ChartError> {
    let failed = |error: &dyn std::fmt::Display| ChartError::Draw {
        path: "(memory)".to_owned(),
        reason: error.to_string(),
    };
    let max_t = reports
        .iter()
        .flat_map(|r| r.timeline.last().map(|p| p.t_ms))
        .max()
        .unwrap_or(1)
        .max(1) as f64
        / 1000.0;
    let budget = reports.iter().find_map(|r| r.budget_bytes);
    let trip_line = reports.iter().find_map(|r| r.trip_threshold_bytes);
    let warn_line = reports.iter().find_map(|r| r.warn_threshold_bytes);
    let cancel_line = reports.iter().find_map(|r| r.cancel_threshold_bytes);
    let max_live = reports
        .iter()
        .flat_map(|r| r.timeline.iter().map(|p| p.live_bytes))
        .max()
        .unwrap_or(0);
    let max_y = (max_live.max(budget.unwrap_or(0)) as f64 / MIB * 1.08).max(1.0);
    let x_range = 0f64..max_t * 1.02;
    let y_range = -max_y * BELOW_ZERO..max_y;

    let root = SVGBackend::with_string(svg, SIZE).into_drawing_area();
    root.fill(&WHITE).map_err(|e| failed(&e))?;
    let title = match reports {
        [one] => format!(
            "{}: live heap, {} contacts x {} users",
            one.mode, one.contacts_per_user, one.users_total
        ),
        _ => format!(
            "naive vs streaming: live heap, {} contacts x {} users",
            reports[0].contacts_per_user, reports[0].users_total
        ),
    };
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(x_range.clone(), y_range.clone())
        .map_err(|e| failed(&e))?;
    chart
        .configure_mesh()
        .x_desc("seconds since the job started")
        .y_desc("live heap (MiB)")
        .y_label_formatter(&|y| {
            if *y < 0.0 {
                String::new()
            } else {
                format!("{y:.0}")
            }
        })
        .label_style(("sans-serif", 14))
        .axis_desc_style(("sans-serif", 15))
        .draw()
        .map_err(|e| failed(&e))?;

    let lines = [
        (budget, "budget", BLACK),
        (
            cancel_line,
            "cancels in-flight work at",
            RGBColor(140, 86, 75),
        ),
        (trip_line, "refuses new work at", RGBColor(255, 127, 14)),
        (warn_line, "warns at", RGBColor(188, 189, 34)),
    ];
    for (bytes, label, line_color) in lines {
        if let Some(bytes) = bytes {
            let y = bytes as f64 / MIB;
            chart
                .draw_series(LineSeries::new(
                    [(0.0, y), (max_t * 1.02, y)],
                    line_color.stroke_width(1),
                ))
                .map_err(|e| failed(&e))?
                .label(format!("{label} {:.0} MiB", y))
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], line_color));
        }
    }
    for report in reports {
        let line_color = color(report.mode);
        let points = downsample(&report.timeline);
        chart
            .draw_series(LineSeries::new(points, line_color.stroke_width(2)))
            .map_err(|e| failed(&e))?
            .label(format!(
                "{}: peak {:.1} MiB, {} ({}/{} users)",
                report.mode,
                report.peak_bytes as f64 / MIB,
                match report.status {
                    crate::report::Status::Complete => "complete",
                    crate::report::Status::Partial => "partial",
                    crate::report::Status::Cancelled => "cancelled",
                },
                report.users_done,
                report.users_total
            ))
            .legend(move |(x, y)| {
                PathElement::new([(x, y), (x + 20, y)], line_color.stroke_width(2))
            });
        // Every marker sits on its report's line, at the time it names:
        // a trip's figure (used plus reserved, or a refused reservation's
        // total) is in the legend and the summary, not a point of the line.
        let on_line = |t_ms: u64| {
            let level = report
                .timeline
                .iter()
                .min_by_key(|p| p.t_ms.abs_diff(t_ms))
                .map_or(0.0, |p| p.live_bytes as f64 / MIB);
            (t_ms as f64 / 1000.0, level)
        };
        let mut marks: Vec<(u64, String, RGBColor, Mark)> = Vec::new();
        if let Some(trip) = &report.trip {
            marks.push((
                trip.t_ms,
                format!("{} stopped by the breaker", report.mode),
                line_color,
                Mark::Cross,
            ));
        }
        for cancelled in &report.cancelled_users {
            marks.push((
                cancelled.t_ms,
                format!("user {} cancelled", cancelled.user_id),
                line_color,
                Mark::Circle,
            ));
        }
        for leak in &report.leaks {
            marks.push((
                leak.t_ms,
                "leak alert".to_owned(),
                RGBColor(148, 103, 189),
                Mark::Triangle,
            ));
        }
        for (t_ms, label, mark_color, mark) in marks {
            let at = on_line(t_ms);
            let offset = {
                let area = chart.plotting_area();
                label_offset(
                    area.map_coordinate(&at),
                    area.get_pixel_range(),
                    matches!(mark, Mark::Triangle),
                )
            };
            let text = Text::new(
                label,
                offset,
                ("sans-serif", 14).into_font().color(&mark_color),
            );
            match mark {
                Mark::Cross => chart.draw_series([EmptyElement::at(at)
                    + Cross::new((0, 0), 8, mark_color.stroke_width(3))
                    + text]),
                Mark::Circle => chart.draw_series([EmptyElement::at(at)
                    + Circle::new((0, 0), 7, mark_color.stroke_width(3))
                    + text]),
                Mark::Triangle => chart.draw_series([EmptyElement::at(at)
                    + TriangleMarker::new((0, 0), 8, mark_color.filled())
                    + text]),
            }
            .map_err(|e| failed(&e))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(|e| failed(&e))?;
    root.present().map_err(|e| failed(&e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downsampling_keeps_peaks_and_bounds_the_points() {
        let timeline: Vec<TimelinePoint> = (0..10_000)
            .map(|i| TimelinePoint {
                t_ms: i,
                live_bytes: if i == 4_321 { 1 << 30 } else { i },
            })
            .collect();
        let points = downsample(&timeline);
        assert!(points.len() <= MAX_POINTS);
        assert!(
            points.iter().any(|&(_, mib)| mib == 1024.0),
            "the spike survives"
        );
        assert_eq!(downsample(&timeline[..10]).len(), 10);
    }

    fn report(mode: Mode) -> JobReport {
        JobReport {
            mode,
            contacts_per_user: 10,
            users_total: 3,
            users_done: 1,
            users_skipped: 2,
            suggestions: 10,
            status: crate::report::Status::Partial,
            peak_bytes: 3 << 20,
            allocations: 100,
            breaker_trips: 1,
            leak_alerts: 1,
            elapsed_ms: 30,
            seed: 1,
            batch_size: 50,
            allocated_bytes: 5 << 20,
            budget_bytes: Some(4 << 20),
            trip_threshold_bytes: Some(3 << 20),
            warn_threshold_bytes: Some(2 << 20),
            cancel_threshold_bytes: Some(3_900_000),
            counting_allocator: true,
            skipped_users: vec![1, 2],
            cancelled_users: vec![crate::report::CancelledUser {
                t_ms: 30,
                user_id: 2,
                held_bytes: 1 << 20,
            }],
            trip: Some(crate::report::TripRecord {
                t_ms: 20,
                user_id: Some(1),
                checkpoint: "user".into(),
                used_bytes: 3 << 20,
                limit_bytes: 4 << 20,
                percent: 75.0,
                message: String::new(),
                top_sites: Vec::new(),
            }),
            leaks: vec![crate::report::LeakRecord {
                t_ms: 25,
                message: String::new(),
                top_sites: Vec::new(),
            }],
            purges: Vec::new(),
            users: Vec::new(),
            timeline: (0..=30)
                .map(|t| TimelinePoint {
                    t_ms: t,
                    live_bytes: t << 17,
                })
                .collect(),
            peak_rss_bytes: Some(8 << 20),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn draws_lines_budget_levels_trip_cancel_and_leak_marks() {
        // Removed when dropped, also when an assertion below fails.
        let dir = tempfile::tempdir().expect("a scratch directory");
        let path = dir.path().join("chart.svg");
        let (naive, streaming) = (report(Mode::Naive), report(Mode::Streaming));
        draw(&path, &[&naive, &streaming]).expect("drawn");
        let svg = std::fs::read_to_string(&path).expect("written");
        for text in [
            "budget 4 MiB",
            "refuses new work at 3 MiB",
            "warns at 2 MiB",
            "cancels in-flight work at 4 MiB",
            "user 2 cancelled",
            "naive stopped by the breaker",
            "leak alert",
            "streaming: peak 3.0 MiB",
        ] {
            assert!(svg.contains(text), "{text}");
        }
        assert!(svg.contains("naive vs streaming"));
    }

    #[test]
    fn labels_stay_inside_the_plot_and_off_their_marker() {
        let plot = (100..900, 50..500);
        // Mid-plot: right of the marker and above it.
        assert_eq!(label_offset((400, 300), plot.clone(), false), (12, -22));
        // Near the right edge: left of the marker, its whole box inside.
        let (dx, _) = label_offset((880, 300), plot.clone(), false);
        assert!(880 + dx >= 100 && 880 + dx + LABEL_BOX.0 <= 900, "{dx}");
        assert!(dx < 0);
        // Near the top: below the marker.
        let (_, dy) = label_offset((400, 55), plot.clone(), false);
        assert!(dy > 0 && 55 + dy + LABEL_BOX.1 <= 500, "{dy}");
        // On the x axis (a trip at 0 bytes): above it, inside.
        let (_, dy) = label_offset((400, 499), plot.clone(), false);
        assert!(dy < 0 && 499 + dy >= 50, "{dy}");
        // At the origin: right and above, inside.
        let (dx, dy) = label_offset((100, 499), plot.clone(), false);
        assert!(dx > 0 && dy < 0, "{dx} {dy}");
        // A leak alert's label goes below its marker, unless at the bottom.
        assert_eq!(label_offset((400, 300), plot.clone(), true), (12, 8));
        let (_, dy) = label_offset((400, 495), plot, true);
        assert!(dy < 0, "{dy}");
    }

    #[test]
    fn refuses_png_and_empty_timelines() {
        let mut empty = report(Mode::Naive);
        assert!(matches!(
            draw(Path::new("x.png"), &[&empty]),
            Err(ChartError::Format { .. })
        ));
        empty.timeline.clear();
        assert!(matches!(
            draw(Path::new("x.svg"), &[&empty]),
            Err(ChartError::Empty)
        ));
    }

    #[test]
    fn only_svg_is_supported() {
        assert!(is_supported(Path::new("a/b.svg")));
        assert!(is_supported(Path::new("B.SVG")));
        assert!(!is_supported(Path::new("b.png")));
        assert!(!is_supported(Path::new("svg")));
    }
}
