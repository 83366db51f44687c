//! SVG charts of a bench report (plotters).

use std::path::Path;

use firesteel::core::{Error, Result};
use plotters::prelude::*;

use crate::bench::BenchReport;

fn chart_err(path: &Path) -> impl Fn(String) -> Error + '_ {
    move |e| Error::task_failed(format!("drawing {}: {e}", path.display()))
}

/// Per-iteration time of each job in both modes (the RDD paper's Figure 7).
pub fn iterations(report: &BenchReport, path: &Path) -> Result<()> {
    let err = chart_err(path);
    let height = 300 * report.jobs.len().max(1) as u32;
    let root = SVGBackend::new(path, (800, height)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let panels = root.split_evenly((report.jobs.len().max(1), 1));
    for (job, area) in report.jobs.iter().zip(panels.iter()) {
        let n = job
            .cached
            .iteration_s
            .len()
            .max(job.mapreduce.iteration_s.len());
        let ymax = job
            .cached
            .iteration_s
            .iter()
            .chain(&job.mapreduce.iteration_s)
            .fold(0.0f64, |a, &b| a.max(b))
            * 1.1
            + 1e-6;
        let mut chart = ChartBuilder::on(area)
            .caption(
                format!(
                    "{}: time per iteration (later iterations {:.1}x faster cached)",
                    job.job, job.speedup_later
                ),
                ("sans-serif", 18),
            )
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.5f64..n as f64 + 0.5, 0.0..ymax)
            .map_err(|e| err(e.to_string()))?;
        chart
            .configure_mesh()
            .x_desc("iteration")
            .y_desc("seconds")
            .draw()
            .map_err(|e| err(e.to_string()))?;
        for (run, color) in [(&job.mapreduce, RED), (&job.cached, BLUE)] {
            let pts: Vec<(f64, f64)> = run
                .iteration_s
                .iter()
                .enumerate()
                .map(|(i, &t)| (i as f64 + 1.0, t))
                .collect();
            chart
                .draw_series(LineSeries::new(pts.clone(), color.stroke_width(2)))
                .map_err(|e| err(e.to_string()))?
                .label(run.mode.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, color.filled())))
                .map_err(|e| err(e.to_string()))?;
        }
        chart
            .configure_series_labels()
            .border_style(BLACK)
            .background_style(WHITE.mix(0.8))
            .draw()
            .map_err(|e| err(e.to_string()))?;
    }
    root.present().map_err(|e| err(e.to_string()))
}

/// Later-iteration time of cached logistic regression against the fraction of the dataset
/// that fits in the cache (the RDD paper's Figure 12).
pub fn memory_pressure(report: &BenchReport, path: &Path) -> Result<()> {
    let err = chart_err(path);
    let root = SVGBackend::new(path, (800, 400)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(e.to_string()))?;
    let ymax = report
        .memory_pressure
        .iter()
        .fold(0.0f64, |a, p| a.max(p.later_mean_s))
        * 1.1
        + 1e-6;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "logistic regression: later-iteration time vs. fraction cached",
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(-5.0f64..105.0, 0.0..ymax)
        .map_err(|e| err(e.to_string()))?;
    chart
        .configure_mesh()
        .x_desc("% of the dataset the cache budget holds")
        .y_desc("seconds per iteration")
        .draw()
        .map_err(|e| err(e.to_string()))?;
    let pts: Vec<(f64, f64)> = report
        .memory_pressure
        .iter()
        .map(|p| (p.fraction_cached * 100.0, p.later_mean_s))
        .collect();
    chart
        .draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))
        .map_err(|e| err(e.to_string()))?;
    chart
        .draw_series(pts.into_iter().map(|p| Circle::new(p, 4, BLUE.filled())))
        .map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))
}
