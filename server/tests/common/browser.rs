//! A browser without JavaScript for the console's tests: cookies kept by hand, no redirects
//! followed, forms posted as a user's browser would.
#![allow(dead_code)]

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

use super::Env;

/// A browser without JavaScript: keeps its cookies by hand, does not follow redirects.
pub struct Browser {
    pub client: Client,
    pub base: String,
    pub cookies: Vec<(String, String)>,
}

pub struct Page {
    pub status: StatusCode,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Page {
    pub fn csrf(&self) -> String {
        field_value(&self.body, "csrf").expect("a csrf field")
    }
}

pub fn field_value(body: &str, name: &str) -> Option<String> {
    let key = format!("name=\"{name}\" value=\"");
    let at = body.find(&key)? + key.len();
    Some(body[at..].split('"').next()?.to_string())
}

pub fn text_of(body: &str, id: &str) -> Option<String> {
    let key = format!("id=\"{id}\"");
    let at = body.find(&key)?;
    let rest = &body[at..];
    let start = rest.find('>')? + 1;
    Some(rest[start..].split('<').next()?.trim().to_string())
}

impl Browser {
    pub fn new(env: &Env) -> Browser {
        Browser::at(Client::builder(), &env.url(""))
    }

    /// A browser on `base` (`http://host:port`), its client built from `client` (which may
    /// resolve a deployment's host names to loopback).
    pub fn at(client: reqwest::blocking::ClientBuilder, base: &str) -> Browser {
        Browser {
            client: client
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            base: base.to_string(),
            cookies: Vec::new(),
        }
    }

    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn keep(&mut self, resp: Response) -> Page {
        for v in resp.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            let (kv, attrs) = v.split_once(';').unwrap_or((v, ""));
            let (k, val) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !attrs.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), val.to_string()));
            }
        }
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get(LOCATION)
                .map(|l| l.to_str().unwrap().to_string()),
            headers: resp.headers().clone(),
            body: resp.text().unwrap(),
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let resp = self
            .client
            .get(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .send()
            .unwrap();
        self.keep(resp)
    }

    pub fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .unwrap();
        self.keep(resp)
    }

    pub fn login(&mut self, user: &str, password: &str) -> Page {
        let form = self.get("/console/login");
        let pre = field_value(&form.body, "pre").unwrap();
        self.post(
            "/console/login",
            &[("username", user), ("password", password), ("pre", &pre)],
        )
    }
}
