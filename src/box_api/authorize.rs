//! Box's OAuth 2.0 authorize URL (`box.authorize_url`), where a user logs in to Box and
//! allows an app access: `response_type=code`, the app's `client_id`, the `redirect_uri` Box
//! sends the code back to, and a `state` the caller checks when it comes back. Used by the
//! console's Connect Box and by `GET|POST /elements/box/oauth/url`.

use url::Url;

/// The authorize URL at `base` for `client_id`, sending the code to `redirect_uri` with
/// `state`; `extra` parameters (e.g. `scope`) follow, in order, when not empty.
pub fn authorize_url(
    base: &Url,
    client_id: &str,
    redirect_uri: &str,
    state: &str,
    extra: &[(&str, &str)],
) -> Url {
    let mut url = base.clone();
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("response_type", "code")
            .append_pair("client_id", client_id)
            .append_pair("redirect_uri", redirect_uri);
        if !state.is_empty() {
            q.append_pair("state", state);
        }
        for (k, v) in extra.iter().filter(|(_, v)| !v.is_empty()) {
            q.append_pair(k, v);
        }
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_carries_the_code_request_and_escapes_every_value() {
        let base = Url::parse("https://account.box.com/api/oauth2/authorize").unwrap();
        let url = authorize_url(
            &base,
            "cid",
            "https://relay.example.com/cb?x=1&y=2",
            "s t&u",
            &[("scope", "root_readwrite"), ("siteAddress", "")],
        );
        assert_eq!(
            url.as_str(),
            "https://account.box.com/api/oauth2/authorize?response_type=code&client_id=cid\
             &redirect_uri=https%3A%2F%2Frelay.example.com%2Fcb%3Fx%3D1%26y%3D2\
             &state=s+t%26u&scope=root_readwrite"
        );
    }
}
