//! Reads an import file (CSV in UTF-8, or the first sheet of an `.xlsx`) into rows of
//! trimmed, NFC-normalised cells, each row remembering where it came from.

use std::path::Path;

use calamine::{Data, Reader};
use unicode_normalization::UnicodeNormalization;

use super::Issue;

/// The cells of an import file, header first.
#[derive(Debug, Clone)]
pub struct Table {
    pub file: String,
    pub header: Vec<String>,
    pub rows: Vec<Row>,
}

#[derive(Debug, Clone)]
pub struct Row {
    /// The line (CSV) or sheet row (XLSX) where the record starts, from 1.
    pub line: u64,
    pub cells: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error(
        "{file}:{line}: the file is not UTF-8 (byte 0x{byte:02X}); it looks like Excel's legacy \
         \"CSV (Comma delimited)\" export (Windows-1258). In Excel choose File → Save As → \
         \"CSV UTF-8 (Comma delimited) (*.csv)\", or in LibreOffice tick \"Edit filter settings\" \
         and pick \"Unicode (UTF-8)\", then import the new file"
    )]
    NotUtf8 { file: String, line: u64, byte: u8 },
    #[error("{file}: cannot read the spreadsheet: {reason}")]
    Spreadsheet { file: String, reason: String },
    #[error("{0}")]
    Malformed(Issue),
    #[error("{file}: the file is empty (expected a header line)")]
    Empty { file: String },
}

impl Table {
    /// Reads a `.xlsx` by its extension, anything else as CSV.
    pub fn read(path: &Path) -> Result<Self, TableError> {
        let file = path.display().to_string();
        let is_spreadsheet = path
            .extension()
            .and_then(|ext| ext.to_str())
            .is_some_and(|ext| ext.eq_ignore_ascii_case("xlsx"));
        if is_spreadsheet {
            Self::read_xlsx(path, file)
        } else {
            let bytes = std::fs::read(path).map_err(|source| TableError::Io {
                file: file.clone(),
                source,
            })?;
            Self::from_csv_bytes(file, &bytes)
        }
    }

    pub fn from_csv_bytes(file: String, bytes: &[u8]) -> Result<Self, TableError> {
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                let offset = err.valid_up_to();
                let line = 1 + bytes[..offset].iter().filter(|&&b| b == b'\n').count() as u64;
                return Err(TableError::NotUtf8 {
                    file,
                    line,
                    byte: bytes[offset],
                });
            }
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut records = Vec::new();
        for record in reader.records() {
            let record = record.map_err(|err| {
                let line = err.position().map(|p| p.line()).unwrap_or(0);
                TableError::Malformed(Issue::at_line(&file, line, format!("not valid CSV: {err}")))
            })?;
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            let cells = record.iter().map(clean_cell).collect();
            records.push(Row { line, cells });
        }
        Self::from_rows(file, records)
    }

    fn read_xlsx(path: &Path, file: String) -> Result<Self, TableError> {
        let bytes = std::fs::read(path).map_err(|source| TableError::Io {
            file: file.clone(),
            source,
        })?;
        Self::from_xlsx_bytes(file, bytes)
    }

    /// An uploaded file, by its name's extension (`.xlsx`, else CSV).
    pub fn from_upload(file: String, bytes: Vec<u8>) -> Result<Self, TableError> {
        if file.to_ascii_lowercase().ends_with(".xlsx") {
            Self::from_xlsx_bytes(file, bytes)
        } else {
            Self::from_csv_bytes(file, &bytes)
        }
    }

    fn from_xlsx_bytes(file: String, bytes: Vec<u8>) -> Result<Self, TableError> {
        let spreadsheet_error = |reason: String| TableError::Spreadsheet {
            file: file.clone(),
            reason,
        };
        let mut workbook: calamine::Xlsx<std::io::Cursor<Vec<u8>>> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(bytes))
                .map_err(|err: calamine::XlsxError| spreadsheet_error(err.to_string()))?;
        let range = workbook
            .worksheet_range_at(0)
            .ok_or_else(|| spreadsheet_error("the workbook has no sheet".to_string()))?
            .map_err(|err| spreadsheet_error(err.to_string()))?;
        let first_row = range.start().map(|(row, _)| row as u64).unwrap_or(0);
        let first_col = range.start().map(|(_, col)| col as usize).unwrap_or(0);
        let rows = range
            .rows()
            .enumerate()
            .map(|(index, cells)| {
                // Keep column positions true to the sheet when it does not start in column A.
                let mut values = vec![String::new(); first_col];
                values.extend(cells.iter().map(spreadsheet_cell));
                Row {
                    line: first_row + index as u64 + 1,
                    cells: values,
                }
            })
            .collect();
        Self::from_rows(file, rows)
    }

    fn from_rows(file: String, mut rows: Vec<Row>) -> Result<Self, TableError> {
        // Blank lines (and rows of empty cells, which spreadsheets leave behind) carry nothing.
        rows.retain(|row| row.cells.iter().any(|cell| !cell.is_empty()));
        if rows.is_empty() {
            return Err(TableError::Empty { file });
        }
        let header = rows
            .remove(0)
            .cells
            .into_iter()
            .map(|name| name.to_lowercase())
            .collect();
        Ok(Self { file, header, rows })
    }
}

fn clean_cell(cell: &str) -> String {
    cell.trim().nfc().collect()
}

fn spreadsheet_cell(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) => clean_cell(text),
        // Whole numbers (codes, quotas, phone numbers typed as numbers) without a decimal point.
        Data::Float(value) if value.fract() == 0.0 && value.abs() < 1e15 => {
            format!("{}", *value as i64)
        }
        Data::Float(value) => value.to_string(),
        Data::Int(value) => value.to_string(),
        Data::Bool(value) => value.to_string(),
        other => clean_cell(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strips_bom_and_normalises_to_nfc() {
        let nfd = "Nguye\u{302}\u{303}n";
        let csv = format!("\u{feff}code,full_name\nGV1,{nfd}\n");
        let table = Table::from_csv_bytes("t.csv".into(), csv.as_bytes()).unwrap();
        assert_eq!(table.header, ["code", "full_name"]);
        assert_eq!(table.rows[0].cells[1], "Nguyễn");
        assert_eq!(table.rows[0].line, 2);
    }

    #[test]
    fn quoted_fields_keep_commas_and_newlines_and_lines_stay_true() {
        let csv = "code,name\nA,\"Trường A, xã B\"\nB,\"two\nlines\"\nC,plain\n";
        let table = Table::from_csv_bytes("t.csv".into(), csv.as_bytes()).unwrap();
        assert_eq!(table.rows[0].cells[1], "Trường A, xã B");
        assert_eq!(table.rows[1].cells[1], "two\nlines");
        assert_eq!(table.rows[2].line, 5);
    }

    #[test]
    fn refuses_legacy_encodings_with_the_line() {
        let bytes = b"code,full_name\nGV1,Tr\xECn V\xE3n\n";
        let err = Table::from_csv_bytes("t.csv".into(), bytes).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("t.csv:2"), "{message}");
        assert!(message.contains("CSV UTF-8"), "{message}");
    }
}
