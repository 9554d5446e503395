//! Small line charts drawn as inline SVG with plotters.
//!
//! The x axis of every chart is seconds since the start of the report, so that charts line up
//! when read one under the other.

use plotters::{
    coord::Shift,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

/// Width and height of one chart, in pixels.
const SIZE: (u32, u32) = (640, 240);
/// Width of the legend at the right of each chart, in pixels.
const LEGEND_WIDTH: u32 = 124;

/// Colours in the order lines take them.
pub const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];
/// Colour of warning thresholds.
pub const WARNING: RGBColor = RGBColor(230, 160, 0);
/// Colour of drift thresholds.
pub const DRIFT: RGBColor = RGBColor(200, 30, 30);

/// How a line is drawn.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stroke {
    /// Straight segments between the points, with a dot on each.
    Points,
    /// A dashed line, for thresholds.
    Dashed,
    /// Steps: each value holds until the next point, the last until the end of the chart.
    Steps,
}

/// One named line; a `None` value leaves a gap.
#[derive(Debug, Clone)]
pub struct Line {
    pub name: String,
    pub color: RGBColor,
    pub stroke: Stroke,
    pub points: Vec<(f64, Option<f64>)>,
}

/// A chart: its lines, text placed at data points, and where the x axis ends.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    pub y_label: String,
    pub lines: Vec<Line>,
    pub notes: Vec<(f64, f64, String)>,
    pub x_end: f64,
    /// Fixed y range (for percentages); otherwise fitted to the data.
    pub y_range: Option<(f64, f64)>,
}

/// Sample times in milliseconds, shown as seconds after `origin_ms`: makes the lines of a chart.
#[derive(Debug, Clone, Copy)]
pub struct Times<'a> {
    pub origin_ms: i64,
    pub t: &'a [i64],
}

impl Times<'_> {
    /// A solid line with a dot on each point.
    pub fn points(&self, name: &str, color: RGBColor, values: &[Option<f64>]) -> Line {
        self.line(name, color, Stroke::Points, values.iter().copied())
    }

    /// A dashed line, for a threshold.
    pub fn dashed(&self, name: &str, color: RGBColor, values: &[f64]) -> Line {
        self.line(
            name,
            color,
            Stroke::Dashed,
            values.iter().copied().map(Some),
        )
    }

    /// A step line.
    pub fn steps(&self, name: &str, color: RGBColor, values: &[i32]) -> Line {
        let values = values.iter().map(|&v| Some(f64::from(v)));
        self.line(name, color, Stroke::Steps, values)
    }

    fn line(
        &self,
        name: &str,
        color: RGBColor,
        stroke: Stroke,
        values: impl IntoIterator<Item = Option<f64>>,
    ) -> Line {
        let x = self.t.iter().map(|&ms| seconds_since(self.origin_ms, ms));
        Line {
            name: name.to_owned(),
            color,
            stroke,
            points: x.zip(values).collect(),
        }
    }
}

/// Seconds from `origin_ms` to `ms`.
pub fn seconds_since(origin_ms: i64, ms: i64) -> f64 {
    (ms - origin_ms) as f64 / 1000.0
}

/// A y-axis tick, short enough to stay clear of the axis title: 20000 as 20k, 0.25 as 0.25.
fn tick(value: f64) -> String {
    let magnitude = value.abs();
    let text = if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.3}")
    };
    // 20.0k -> 20k, 0.250 -> 0.25, 1.000 -> 1
    match text.find('.') {
        Some(_) => {
            let (number, unit) = text.split_at(text.trim_end_matches(['k', 'M']).len());
            let number = number.trim_end_matches('0').trim_end_matches('.');
            format!("{number}{unit}")
        }
        None => text,
    }
}

/// The chart as an `<svg>` element.
pub fn render(chart: &Chart) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        let (plot, legend) = root.split_horizontally(SIZE.0 - LEGEND_WIDTH);
        let (x0, x1) = x_range(chart);
        let (y0, y1) = chart.y_range.unwrap_or_else(|| y_range(chart));
        let mut area = ChartBuilder::on(&plot)
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(58)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        area.configure_mesh()
            .x_desc("seconds since start")
            .y_desc(chart.y_label.as_str())
            .y_label_formatter(&|v| tick(*v))
            .label_style(("sans-serif", 13))
            .axis_desc_style(("sans-serif", 14))
            .light_line_style(TRANSPARENT)
            .draw()?;

        for line in &chart.lines {
            draw_line(&mut area, line, x1)?;
        }
        // Notes sit centred just above their point.
        let note_style = ("sans-serif", 13)
            .into_font()
            .into_text_style(&root)
            .pos(Pos::new(HPos::Center, VPos::Bottom));
        area.draw_series(chart.notes.iter().map(|(x, y, text)| {
            EmptyElement::at((*x, *y)) + Text::new(text.clone(), (0, -6), note_style.clone())
        }))?;
        draw_legend(&legend, &chart.lines)?;
        root.present()?;
    }
    Ok(svg)
}

type Area<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn draw_line(area: &mut Area<'_, '_>, line: &Line, x_end: f64) -> anyhow::Result<()> {
    let color = line.color;
    for segment in segments(line, x_end) {
        match line.stroke {
            Stroke::Dashed => area.draw_series(DashedLineSeries::new(
                segment.clone(),
                6,
                4,
                color.stroke_width(1),
            ))?,
            Stroke::Points | Stroke::Steps => {
                area.draw_series(LineSeries::new(segment.clone(), color.stroke_width(2)))?
            }
        };
        if line.stroke == Stroke::Points {
            area.draw_series(
                segment
                    .iter()
                    .map(|&point| Circle::new(point, 3, color.filled())),
            )?;
        }
    }
    Ok(())
}

/// The legend, beside the plot so that it never hides a line.
fn draw_legend(area: &DrawingArea<SVGBackend<'_>, Shift>, lines: &[Line]) -> anyhow::Result<()> {
    let style = ("sans-serif", 13)
        .into_font()
        .into_text_style(area)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, line) in lines.iter().enumerate() {
        let y = 20 + 20 * i as i32;
        let width = if line.stroke == Stroke::Dashed { 1 } else { 2 };
        area.draw(&PathElement::new(
            vec![(4, y), (22, y)],
            line.color.stroke_width(width),
        ))?;
        area.draw(&Text::new(line.name.clone(), (28, y), style.clone()))?;
    }
    Ok(())
}

/// The runs of points without gaps, as drawn (steps expanded).
fn segments(line: &Line, x_end: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut current = Vec::new();
    for (i, &(x, y)) in line.points.iter().enumerate() {
        let Some(y) = y else {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        };
        current.push((x, y));
        if line.stroke == Stroke::Steps {
            let next_x = line.points.get(i + 1).map_or(x_end, |(x, _)| *x);
            current.push((next_x, y));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn x_range(chart: &Chart) -> (f64, f64) {
    let last = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().map(|(x, _)| *x))
        .fold(chart.x_end, f64::max);
    (0.0, last.max(1.0) * 1.02)
}

fn y_range(chart: &Chart) -> (f64, f64) {
    let ys = chart
        .lines
        .iter()
        .flat_map(|l| l.points.iter().filter_map(|(_, y)| *y))
        .filter(|y| y.is_finite());
    let (low, high) = ys.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), y| {
        (lo.min(y), hi.max(y))
    });
    if low > high {
        return (0.0, 1.0);
    }
    let pad = if high > low {
        (high - low) * 0.1
    } else {
        low.abs().max(1.0) * 0.1
    };
    (low - pad, high + pad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        let ticks: Vec<String> = [20_000.0, 2_500.0, 0.25, 1.0, 0.0, -0.125, 3_000_000.0]
            .into_iter()
            .map(tick)
            .collect();
        assert_eq!(ticks, ["20k", "2.5k", "0.25", "1", "0", "-0.125", "3M"]);
    }

    #[test]
    fn steps_hold_each_value_until_the_next_point_and_gaps_split_lines() {
        let line = Line {
            name: "v2".into(),
            color: PALETTE[0],
            stroke: Stroke::Steps,
            points: vec![
                (0.0, Some(10.0)),
                (5.0, Some(50.0)),
                (8.0, None),
                (9.0, Some(100.0)),
            ],
        };
        assert_eq!(
            segments(&line, 12.0),
            vec![
                vec![(0.0, 10.0), (5.0, 10.0), (5.0, 50.0), (8.0, 50.0)],
                vec![(9.0, 100.0), (12.0, 100.0)],
            ]
        );
    }
}
