//! One table model for every table the tool prints, rendered to aligned text (terminal) and to a
//! sortable HTML table (the `--html` page): the report and the runs are built once as [`Table`]s.

use crate::format::xml_escape;
use factory_observability_model::escape_for_terminal;
use std::borrow::Borrow;
use std::io::{self, Write};

/// Column alignment: words left, numbers right.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// One row: its cells, whether it shows a failure, and notes (top exception messages, flaky test
/// names) printed under it in text and in the notes column in HTML.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Row {
    pub cells: Vec<String>,
    pub failed: bool,
    pub notes: Vec<String>,
}

impl Row {
    /// A row of cells.
    pub fn new(cells: Vec<String>) -> Row {
        Row {
            cells,
            ..Row::default()
        }
    }

    /// Marks the row as a failure (red in HTML).
    pub fn failed(mut self, failed: bool) -> Row {
        self.failed = failed;
        self
    }

    /// Lines shown with the row.
    pub fn notes(mut self, notes: Vec<String>) -> Row {
        self.notes = notes;
        self
    }
}

/// A titled table.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    /// The HTML element id (`stages`, `models`, ...).
    pub id: &'static str,
    pub title: String,
    pub columns: Vec<(&'static str, Align)>,
    /// The HTML header of the rows' notes, when they have any.
    pub notes_title: &'static str,
    pub rows: Vec<Row>,
}

impl Table {
    /// Columns padded to their widest cell (by characters), two spaces apart, trailing spaces
    /// trimmed; each row's notes on the lines after it, indented by two. Control characters in
    /// cells and notes are escaped ([`escape_for_terminal`]).
    pub fn text(&self) -> String {
        let mut out = Vec::new();
        self.write_text(&mut out).expect("writing to a Vec");
        String::from_utf8(out).expect("UTF-8 cells")
    }

    /// [`Table::text`], written line by line.
    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        self.write_rows(|| self.rows.iter(), out)
    }

    /// The header, then the rows `rows` gives, written as [`Table::text`] writes its own (the
    /// table's `rows` are not used). `rows` is called twice, for the column widths and to write
    /// the lines, so that a table of every run read is never held whole.
    pub fn write_rows<I>(&self, rows: impl Fn() -> I, out: &mut dyn Write) -> io::Result<()>
    where
        I: Iterator,
        I::Item: Borrow<Row>,
    {
        let mut widths: Vec<usize> = self
            .columns
            .iter()
            .map(|(h, _)| h.chars().count())
            .collect();
        for row in rows() {
            for (width, cell) in widths.iter_mut().zip(&row.borrow().cells) {
                *width = (*width).max(escape_for_terminal(cell).chars().count());
            }
        }
        let mut line = String::new();
        self.line(
            &widths,
            &mut line,
            &mut self.columns.iter().map(|(h, _)| *h),
        );
        writeln!(out, "{}", line.trim_end())?;
        for row in rows() {
            let row = row.borrow();
            self.line(
                &widths,
                &mut line,
                &mut row.cells.iter().map(String::as_str),
            );
            writeln!(out, "{}", line.trim_end())?;
            for note in &row.notes {
                writeln!(out, "  {}", escape_for_terminal(note))?;
            }
        }
        Ok(())
    }

    /// One line of cells, each escaped and padded to its column's width.
    fn line(&self, widths: &[usize], line: &mut String, cells: &mut dyn Iterator<Item = &str>) {
        line.clear();
        for (index, (cell, ((_, align), width))) in
            cells.zip(self.columns.iter().zip(widths)).enumerate()
        {
            if index > 0 {
                line.push_str("  ");
            }
            let cell = escape_for_terminal(cell);
            let pad = " ".repeat(width.saturating_sub(cell.chars().count()));
            match align {
                Align::Left => {
                    line.push_str(&cell);
                    line.push_str(&pad);
                }
                Align::Right => {
                    line.push_str(&pad);
                    line.push_str(&cell);
                }
            }
        }
    }

    /// A sortable HTML table (`class="sortable"`, see the page's script), failed rows marked
    /// `class="failed"`, left-aligned cells `class="text"`, notes in a last column.
    pub fn html(&self) -> String {
        let with_notes = self.rows.iter().any(|row| !row.notes.is_empty());
        let mut out = format!("<table id=\"{}\" class=\"sortable\"><thead><tr>", self.id);
        for (header, align) in &self.columns {
            match align {
                Align::Right => out.push_str(&format!("<th>{}</th>", xml_escape(header))),
                Align::Left => {
                    out.push_str(&format!("<th class=\"text\">{}</th>", xml_escape(header)))
                }
            }
        }
        if with_notes {
            out.push_str(&format!(
                "<th class=\"text\">{}</th>",
                xml_escape(self.notes_title)
            ));
        }
        out.push_str("</tr></thead><tbody>\n");
        for row in &self.rows {
            out.push_str(if row.failed {
                "<tr class=\"failed\">"
            } else {
                "<tr>"
            });
            for (cell, (_, align)) in row.cells.iter().zip(&self.columns) {
                match align {
                    Align::Right => out.push_str(&format!("<td>{}</td>", xml_escape(cell))),
                    Align::Left => {
                        out.push_str(&format!("<td class=\"text\">{}</td>", xml_escape(cell)))
                    }
                }
            }
            if with_notes {
                out.push_str("<td class=\"text\">");
                out.push_str(
                    &row.notes
                        .iter()
                        .map(|note| xml_escape(note))
                        .collect::<Vec<_>>()
                        .join("<br>"),
                );
                out.push_str("</td>");
            }
            out.push_str("</tr>\n");
        }
        out.push_str("</tbody></table>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        Table {
            id: "stages",
            title: "Stages".into(),
            columns: vec![("name", Align::Left), ("n", Align::Right)],
            notes_title: "messages",
            rows: vec![
                Row::new(vec!["plan".into(), "12".into()]),
                Row::new(vec!["test<1>".into(), "3".into()])
                    .failed(true)
                    .notes(vec!["2x boom & bust".into()]),
            ],
        }
    }

    #[test]
    fn text_aligns_columns_and_puts_notes_under_their_row() {
        assert_eq!(
            sample().text(),
            "name      n\nplan     12\ntest<1>   3\n  2x boom & bust\n"
        );
    }

    #[test]
    fn html_escapes_marks_failures_and_adds_a_notes_column() {
        assert_eq!(
            sample().html(),
            "<table id=\"stages\" class=\"sortable\"><thead><tr><th class=\"text\">name</th>\
             <th>n</th><th class=\"text\">messages</th></tr></thead><tbody>\n\
             <tr><td class=\"text\">plan</td><td>12</td><td class=\"text\"></td></tr>\n\
             <tr class=\"failed\"><td class=\"text\">test&lt;1&gt;</td><td>3</td>\
             <td class=\"text\">2x boom &amp; bust</td></tr>\n</tbody></table>\n"
        );
    }
}
