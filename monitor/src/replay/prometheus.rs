//! A Prometheus `query_range` response read as a stream: the `result`
//! array series by series, each series' `values` sample by sample, handed
//! to a [`Sink`] as they are parsed. Nothing of the document is held but
//! the current series' labels (and, only when a series lists its `values`
//! before its `metric`, that series' samples until its labels come).

use super::input::{ReplayError, SeriesLabels};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// The longest piece of the input an error message quotes, characters.
pub(crate) const QUOTE_CHARS: usize = 64;

/// `text`, cut to [`QUOTE_CHARS`] characters with the full length said.
pub(crate) fn quote(text: &str) -> String {
    match text.char_indices().nth(QUOTE_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}... ({} bytes)", &text[..end], text.len()),
    }
}

/// Where the samples go.
pub(crate) trait Sink {
    /// A series begins with these labels: whether its samples are wanted.
    fn begin(&mut self, labels: &SeriesLabels) -> bool;
    /// One sample of the current series: its 1-based index, its time and
    /// its value as written.
    fn sample(
        &mut self,
        labels: &SeriesLabels,
        index: u64,
        t_secs: f64,
        value: &str,
    ) -> Result<(), ReplayError>;
}

/// What the document said besides its series.
#[derive(Debug, Default)]
pub(crate) struct Envelope {
    /// `status`, cut to [`QUOTE_CHARS`].
    pub(crate) status: Option<String>,
    /// `error`, cut.
    pub(crate) error: Option<String>,
    /// `data.resultType`, cut.
    pub(crate) result_type: Option<String>,
    /// Whether `data` was there.
    pub(crate) data: bool,
}

/// Parses `input` (a JSON text), handing each sample of each selected
/// series to `sink`; an error of the sink ends the parse and is returned
/// as it is.
pub(crate) fn stream(
    input: impl std::io::Read,
    sink: &mut dyn Sink,
) -> Result<Envelope, StreamError> {
    let mut context = Context {
        sink,
        envelope: Envelope::default(),
        stopped: None,
    };
    let mut deserializer = serde_json::Deserializer::from_reader(input);
    let parsed = Top(&mut context)
        .deserialize(&mut deserializer)
        .and_then(|()| deserializer.end());
    match (parsed, context.stopped.take()) {
        (_, Some(error)) => Err(StreamError::Sink(error)),
        (Err(error), None) => Err(StreamError::Json(error)),
        (Ok(()), None) => Ok(context.envelope),
    }
}

/// Why a stream ended early.
#[derive(Debug)]
pub(crate) enum StreamError {
    /// The sink refused a sample.
    Sink(ReplayError),
    /// The JSON is malformed or not shaped as expected.
    Json(serde_json::Error),
}

struct Context<'s> {
    sink: &'s mut dyn Sink,
    envelope: Envelope,
    stopped: Option<ReplayError>,
}

impl Context<'_> {
    /// Hands a sample to the sink, keeping its error.
    fn sample<E: de::Error>(
        &mut self,
        labels: &SeriesLabels,
        index: u64,
        t_secs: f64,
        value: &str,
    ) -> Result<(), E> {
        self.sink
            .sample(labels, index, t_secs, value)
            .map_err(|error| {
                self.stopped = Some(error);
                E::custom("stopped")
            })
    }
}

/// A map key among `names`, without keeping the key's text.
struct Key(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Option<usize>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Key {
    type Value = Option<usize>;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a key")
    }
    fn visit_str<E: de::Error>(self, key: &str) -> Result<Self::Value, E> {
        Ok(self.0.iter().position(|name| *name == key))
    }
}

/// A string, kept to its first [`QUOTE_CHARS`] characters.
struct Cut;

impl<'de> DeserializeSeed<'de> for Cut {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for Cut {
    type Value = String;
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a string")
    }
    fn visit_str<E: de::Error>(self, text: &str) -> Result<Self::Value, E> {
        Ok(quote(text))
    }
}

/// The document: `{"status":...,"data":{...},"error":...}`.
struct Top<'c, 's>(&'c mut Context<'s>);

impl<'de> DeserializeSeed<'de> for Top<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Top<'_, '_> {
    type Value = ();
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a query_range response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key(&["status", "data", "error"]))? {
            match key {
                Some(0) => self.0.envelope.status = Some(map.next_value_seed(Cut)?),
                Some(1) => {
                    self.0.envelope.data = true;
                    map.next_value_seed(Data(self.0))?;
                }
                Some(2) => self.0.envelope.error = Some(map.next_value_seed(Cut)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `data`: `{"resultType":"matrix","result":[...]}`.
struct Data<'c, 's>(&'c mut Context<'s>);

impl<'de> DeserializeSeed<'de> for Data<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Data<'_, '_> {
    type Value = ();
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a data object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(Key(&["resultType", "result"]))? {
            match key {
                Some(0) => self.0.envelope.result_type = Some(map.next_value_seed(Cut)?),
                // A failed query's result is not read (nor an unknown
                // type's, when its type came first).
                Some(1)
                    if self.0.envelope.status.as_deref().unwrap_or("success") == "success"
                        && self.0.envelope.result_type.as_deref().unwrap_or("matrix")
                            == "matrix" =>
                {
                    map.next_value_seed(ResultArray(self.0))?
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// `result`: an array of series.
struct ResultArray<'c, 's>(&'c mut Context<'s>);

impl<'de> DeserializeSeed<'de> for ResultArray<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for ResultArray<'_, '_> {
    type Value = ();
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an array of series")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Series(self.0))?.is_some() {}
        Ok(())
    }
}

/// One series: `{"metric":{...},"values":[[t,"v"],...]}`.
struct Series<'c, 's>(&'c mut Context<'s>);

impl<'de> DeserializeSeed<'de> for Series<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Series<'_, '_> {
    type Value = ();
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a series object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut labels: Option<SeriesLabels> = None;
        let mut selected = false;
        // Samples listed before the labels, kept until they come.
        let mut early: Option<Vec<(f64, String)>> = None;
        while let Some(key) = map.next_key_seed(Key(&["metric", "values"]))? {
            match key {
                Some(0) => {
                    let known = map.next_value::<SeriesLabels>()?;
                    selected = self.0.sink.begin(&known);
                    labels = Some(known);
                }
                Some(1) => match &labels {
                    Some(labels) if selected => map.next_value_seed(Values {
                        context: self.0,
                        labels,
                    })?,
                    Some(_) => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    None => early = Some(map.next_value()?),
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if let Some(samples) = early {
            let labels = labels.unwrap_or_default();
            if self.0.sink.begin(&labels) {
                for (index, (t_secs, value)) in samples.iter().enumerate() {
                    self.0.sample(&labels, index as u64 + 1, *t_secs, value)?;
                }
            }
        }
        Ok(())
    }
}

/// `values`, streamed to the sink.
struct Values<'c, 's, 'l> {
    context: &'c mut Context<'s>,
    labels: &'l SeriesLabels,
}

impl<'de> DeserializeSeed<'de> for Values<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Values<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an array of [time, \"value\"] pairs")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0;
        while let Some((t_secs, value)) = seq.next_element::<(f64, Text)>()? {
            index += 1;
            self.context.sample(self.labels, index, t_secs, &value.0)?;
        }
        Ok(())
    }
}

/// A sample's value as written: a short string in practice; a long one is
/// held while it is checked, then dropped.
struct Text(String);

impl<'de> serde::Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Text)
    }
}

#[cfg(test)]
mod tests {
    use super::{quote, stream, Sink, StreamError, QUOTE_CHARS};
    use crate::replay::{ReplayError, SeriesLabels};

    #[derive(Default)]
    struct Seen(Vec<(String, u64, f64, String)>);

    impl Sink for Seen {
        fn begin(&mut self, labels: &SeriesLabels) -> bool {
            labels.get("skip").is_none()
        }
        fn sample(
            &mut self,
            labels: &SeriesLabels,
            index: u64,
            t_secs: f64,
            value: &str,
        ) -> Result<(), ReplayError> {
            if value == "stop" {
                return Err(ReplayError::Prometheus("stopped here".into()));
            }
            let name = labels.get("i").cloned().unwrap_or_default();
            self.0.push((name, index, t_secs, value.to_owned()));
            Ok(())
        }
    }

    #[test]
    fn series_stream_in_order_whatever_the_order_of_their_keys() {
        let json = r#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"i":"a"},"values":[[1,"10"],[2,"11"]]},
            {"values":[[3,"12"]],"metric":{"i":"b"}},
            {"metric":{"i":"c","skip":"1"},"values":[[4,"13"]]}]},"warnings":["w"]}"#;
        let mut seen = Seen::default();
        let envelope = stream(json.as_bytes(), &mut seen).unwrap();
        assert_eq!(envelope.status.as_deref(), Some("success"));
        assert_eq!(envelope.result_type.as_deref(), Some("matrix"));
        let got: Vec<(&str, u64, f64, &str)> = seen
            .0
            .iter()
            .map(|(n, i, t, v)| (n.as_str(), *i, *t, v.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", 1, 1.0, "10"),
                ("a", 2, 2.0, "11"),
                ("b", 1, 3.0, "12")
            ]
        );
    }

    #[test]
    fn a_sink_error_ends_the_stream_as_it_is() {
        let json = r#"{"data":{"result":[{"metric":{},"values":[[1,"stop"],[2,"1"]]}]}}"#;
        let error = stream(json.as_bytes(), &mut Seen::default()).unwrap_err();
        assert!(
            matches!(error, StreamError::Sink(ReplayError::Prometheus(ref m)) if m == "stopped here"),
            "{error:?}"
        );
    }

    #[test]
    fn long_texts_are_quoted_by_a_short_prefix() {
        let long = "x".repeat(10 << 20);
        let quoted = quote(&long);
        assert!(quoted.len() < QUOTE_CHARS + 40, "{}", quoted.len());
        assert!(quoted.ends_with(&format!("... ({} bytes)", 10 << 20)));
        assert_eq!(quote("short"), "short");
        let json = format!(r#"{{"status":"{long}","error":"{long}"}}"#);
        let envelope = stream(json.as_bytes(), &mut Seen::default()).unwrap();
        assert!(envelope.status.unwrap().len() < QUOTE_CHARS + 40);
        assert!(envelope.error.unwrap().len() < QUOTE_CHARS + 40);
    }
}
