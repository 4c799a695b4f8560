//! One line per entry, with the fields a reader checks in a fixture.

use wiremap_wire::{Detail, Entry};

fn pairs(v: &[(String, String)]) -> String {
    v.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

pub fn summary(e: &Entry) -> String {
    let dir = format!("{}->{}", e.src.port, e.dst.port);
    let common = format!(
        "status={} err={} resp={} req={}B resp={}B elapsed={}",
        e.status_code, e.error, e.has_response, e.request_size, e.response_size, e.elapsed_us
    );
    let detail = match &e.detail {
        Detail::Http(h) => {
            let mut s = format!(
                "{} {} {} path={} q=[{}] hdr={}+{} body={}+{}",
                h.method,
                h.url,
                h.http_version,
                h.path,
                pairs(&h.query_string),
                h.request_headers_size,
                h.response_headers_size,
                h.request_body_size,
                h.response_body_size
            );
            if !h.request_cookies.is_empty() || !h.response_cookies.is_empty() {
                s.push_str(&format!(
                    " cookies=[{}] set=[{}]",
                    pairs(&h.request_cookies),
                    pairs(&h.response_cookies)
                ));
            }
            if let Some((_, v)) = h.request_headers.iter().find(|(k, _)| k == "authorization") {
                s.push_str(&format!(" auth={v}"));
            }
            if let Some(g) = &h.grpc {
                s.push_str(&format!(" grpc={}/{}:{}", g.service, g.method, g.status));
            }
            s
        }
        Detail::Dns(d) => format!(
            "q={} t={} a={} rcode={} tc={} len={}+{}",
            d.questions.join(","),
            d.question_types.join(","),
            d.answers.join(","),
            d.rcode,
            d.truncated,
            d.request_length,
            d.response_length
        ),
        Detail::Redis(r) => format!(
            "{} key={} cmd={:?} errreply={}",
            r.command_type, r.key, r.command, r.error_reply
        ),
        Detail::Kafka(k) => format!(
            "{} v{} corr={} client={} topics={} ec={}",
            k.api_key_name(),
            k.api_version,
            k.correlation_id,
            k.client_id,
            k.request_summary,
            k.error_code
        ),
        Detail::None => String::new(),
    };
    format!("{} {dir} {detail} {common}", e.protocol.name())
}
