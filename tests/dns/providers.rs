//! Recorded provider exchanges: Cloudflare and Route 53.

use super::*;

// ---------------------------------------------------------------------------------------------
// Recorded provider exchanges (Cloudflare, Route 53)

#[tokio::test]
async fn cloudflare_patch_matches_the_documented_request() {
    let (url, seen) = scripted(vec![
        (200, fixture("cloudflare_record_prod_response.json")), // switch: read
        (200, fixture("cloudflare_record_prod_response.json")), // replace: proxied?
        (200, fixture("cloudflare_record_dr_response.json")),   // PATCH
        (200, fixture("cloudflare_record_dr_response.json")),   // read back
    ])
    .await;
    let cf = Cloudflare::new(CF_ZONE, CF_RECORD, CF_TOKEN, "shop.example.com.", "CNAME")
        .with_api_url(&url);
    let p = Provider::Cloudflare(cf);
    let http = HttpClient::new(false);
    let out = p
        .switch(
            &http,
            "lb.eu-west-1.example.net.",
            Some(60),
            "CNAME",
            &|_| {},
        )
        .await
        .expect("switch");
    assert!(
        matches!(out, drcockpit::clients::dns::SwitchOutcome::Changed { .. }),
        "{out:?}"
    );
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 4, "{seen:#?}");
    let patch = &seen[2];
    assert_eq!(patch.method, "PATCH");
    assert_eq!(
        patch.uri,
        format!("/zones/{CF_ZONE}/dns_records/{CF_RECORD}")
    );
    assert_eq!(
        header(patch, "authorization"),
        Some(format!("Bearer {CF_TOKEN}").as_str())
    );
    assert_eq!(header(patch, "content-type"), Some("application/json"));
    assert_eq!(patch.body, fixture("cloudflare_patch_request.json").trim());
    for s in [&seen[0], &seen[1], &seen[3]] {
        assert_eq!(s.method, "GET");
        assert_eq!(
            header(s, "authorization"),
            Some(format!("Bearer {CF_TOKEN}").as_str())
        );
    }
    // The default endpoint is Cloudflare's v4 API.
    let real = Cloudflare::new(CF_ZONE, CF_RECORD, CF_TOKEN, "shop.example.com.", "CNAME");
    assert_eq!(
        real.patch_request(&["lb.eu-west-1.example.net.".into()], Some(60))
            .url,
        format!("https://api.cloudflare.com/client/v4/zones/{CF_ZONE}/dns_records/{CF_RECORD}")
    );
}

#[tokio::test]
async fn cloudflare_ttl_rules_and_errors() {
    // TTL outside Cloudflare's rules is refused before anything is sent.
    assert!(drcockpit::clients::dns::cloudflare::check_ttl(10).is_err());
    assert!(drcockpit::clients::dns::cloudflare::check_ttl(1).is_ok());
    assert!(
        drcockpit::clients::dns::cloudflare::check_ttl(45)
            .expect("enterprise")
            .is_some()
    );
    let dns = DnsConfig {
        record: "shop.example.com.".into(),
        record_type: "CNAME".into(),
        zone: None,
        nameservers: vec![],
        provider: Some(DnsProvider::Cloudflare {
            zone_id: CF_ZONE.into(),
            record_id: CF_RECORD.into(),
            token: CF_TOKEN.into(),
        }),
    };
    let mut plan = plan_with(dns);
    plan.sites = [
        site("P", "lb.fr-par.example.net."),
        site("D", "lb.eu-west-1.example.net."),
    ];
    let e = steps::dns::build(
        "dns.switch",
        &raw("dns.switch", "ttl = 10"),
        plan.dns.as_ref(),
        &plan.sites,
    )
    .expect_err("ttl 10");
    assert!(e.contains("between 60 and 86400"), "{e}");

    // The API's own errors come through with their code.
    let (url, _) = scripted(vec![
        (200, fixture("cloudflare_record_prod_response.json")),
        (200, fixture("cloudflare_record_prod_response.json")),
        (400, fixture("cloudflare_ttl_error_response.json")),
    ])
    .await;
    let p = Provider::Cloudflare(
        Cloudflare::new(CF_ZONE, CF_RECORD, CF_TOKEN, "shop.example.com.", "CNAME")
            .with_api_url(&url),
    );
    let e = p
        .switch(
            &HttpClient::new(false),
            "lb.eu-west-1.example.net.",
            Some(120),
            "CNAME",
            &|_| {},
        )
        .await
        .expect_err("9021");
    assert_eq!(
        e.to_string(),
        "Cloudflare: 400: PATCH the record: TTL must be between 30 and 86400 seconds, or 1 for Automatic. (9021)"
    );
    let (url, _) = scripted(vec![(403, fixture("cloudflare_auth_error_response.json"))]).await;
    let p = Provider::Cloudflare(
        Cloudflare::new(CF_ZONE, CF_RECORD, CF_TOKEN, "shop.example.com.", "CNAME")
            .with_api_url(&url),
    );
    let e = p
        .check_access(&HttpClient::new(true))
        .await
        .expect_err("403");
    assert!(
        matches!(e, DnsError::Unauthorized { status: 403, .. }),
        "{e}"
    );
    assert!(
        e.to_string().contains("Authentication error (10000)"),
        "{e}"
    );
}

fn aws_example_credentials() -> aws_credential_types::Credentials {
    // AWS's documented example key pair (SigV4 test suite).
    aws_credential_types::Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        None,
        None,
        "test",
    )
}

fn at_20150830() -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(1_440_938_160) // 2015-08-30T12:36:00Z
}

#[test]
fn route53_signing_matches_the_sigv4_test_suite() {
    // AWS SigV4 test suite, `get-vanilla`: GET https://example.amazonaws.com/ by AKIDEXAMPLE at
    // 20150830T123600Z for service `service` in us-east-1.
    let mut r = Route53::new("Z1", "shop.example.com.", "CNAME");
    r.service = "service".into();
    r.credentials = Some(aws_example_credentials());
    r.signing_time = Some(at_20150830());
    let signed = r
        .sign(drcockpit::clients::http::RequestSpec {
            method: "GET".into(),
            url: "https://example.amazonaws.com/".into(),
            headers: vec![],
            body: None,
        })
        .expect("sign");
    let h = |n: &str| {
        signed
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    assert_eq!(h("x-amz-date").as_deref(), Some("20150830T123600Z"));
    assert_eq!(
        h("authorization").as_deref(),
        Some(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        )
    );
}

#[tokio::test]
async fn route53_upsert_then_getchange_until_insync() {
    let (url, seen) = scripted(vec![
        (200, fixture("route53_list_prod_response.xml")),
        (200, fixture("route53_change_response.xml")),
        (
            200,
            fixture("route53_change_response.xml")
                .replace("ChangeResourceRecordSetsResponse", "GetChangeResponse"),
        ),
        (200, fixture("route53_getchange_insync_response.xml")),
        (200, fixture("route53_list_dr_response.xml")),
    ])
    .await;
    let mut r = Route53::new("/hostedzone/Z1PA6795UKMFR9", "shop.example.com.", "CNAME");
    r.endpoint = url;
    r.credentials = Some(aws_example_credentials());
    r.signing_time = Some(at_20150830());
    r.poll_every = Duration::from_millis(20);
    let progress = Arc::new(Mutex::new(Vec::<String>::new()));
    let pr = progress.clone();
    let out = Provider::Route53(r)
        .switch(
            &HttpClient::new(false),
            "lb.eu-west-1.example.net.",
            Some(60),
            "CNAME",
            &move |s| pr.lock().expect("lock").push(s),
        )
        .await
        .expect("switch");
    match out {
        drcockpit::clients::dns::SwitchOutcome::Changed { note, after, .. } => {
            assert_eq!(note, "Route 53 change /change/C2682N5HXP0BZ4 INSYNC");
            assert_eq!(after.values, vec!["lb.eu-west-1.example.net.".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    let seen = seen.lock().expect("lock").clone();
    let calls: Vec<String> = seen
        .iter()
        .map(|s| format!("{} {}", s.method, s.uri))
        .collect();
    assert_eq!(
        calls,
        vec![
            "GET /2013-04-01/hostedzone/Z1PA6795UKMFR9/rrset?maxitems=1&name=shop.example.com.&type=CNAME",
            "POST /2013-04-01/hostedzone/Z1PA6795UKMFR9/rrset",
            "GET /2013-04-01/change/C2682N5HXP0BZ4",
            "GET /2013-04-01/change/C2682N5HXP0BZ4",
            "GET /2013-04-01/hostedzone/Z1PA6795UKMFR9/rrset?maxitems=1&name=shop.example.com.&type=CNAME",
        ]
    );
    let post = &seen[1];
    assert_eq!(post.body, fixture("route53_upsert_request.xml"));
    assert_eq!(header(post, "x-amz-date"), Some("20150830T123600Z"));
    let auth = header(post, "authorization").unwrap_or_default();
    assert!(
        auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/route53/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="),
        "{auth}"
    );
    assert_eq!(
        progress
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.contains("C2682N5HXP0BZ4"))
            .count(),
        2,
        "PENDING then INSYNC"
    );

    // Errors carry the XML code and message.
    let (url, _) = scripted(vec![(403, fixture("route53_access_denied_response.xml"))]).await;
    let mut r = Route53::new("Z1PA6795UKMFR9", "shop.example.com.", "CNAME");
    r.endpoint = url;
    r.credentials = Some(aws_example_credentials());
    let e = r
        .check_access(&HttpClient::new(true))
        .await
        .expect_err("403");
    assert!(
        e.to_string()
            .contains("SignatureDoesNotMatch: The request signature"),
        "{e}"
    );

    // A read-only client refuses the UPSERT before credentials are even read.
    let r = Route53::new("Z1PA6795UKMFR9", "shop.example.com.", "CNAME");
    let e = r
        .replace(&HttpClient::new(true), &["x.example.".into()], 60, &|_| {})
        .await
        .expect_err("read-only");
    assert!(e.to_string().contains("read-only"), "{e}");
}
