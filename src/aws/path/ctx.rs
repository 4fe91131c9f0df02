//! What every step of the read shares: the three clients, the progress
//! line, and the notes (what failed, what could not be followed).

use crate::aws::{ProvideErrorMetadata, SdkError};
use aws_config::SdkConfig;

/// The clients `read` calls; built from one `SdkConfig`, or given (tests
/// hand in the SDK's mocks).
#[derive(Debug, Clone)]
pub struct Clients {
    pub rest: aws_sdk_apigateway::Client,
    pub v2: aws_sdk_apigatewayv2::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig) -> Clients {
        Clients {
            rest: aws_sdk_apigateway::Client::new(sdk),
            v2: aws_sdk_apigatewayv2::Client::new(sdk),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
        }
    }
}

/// At most this many pages of one listing: a loop that a misbehaving
/// endpoint keeps feeding a next marker must still end.
pub const MAX_PAGES: usize = 100;

pub struct Ctx<'a> {
    pub clients: &'a Clients,
    progress: &'a (dyn Fn(&str) + Sync),
    pub notes: Vec<String>,
    /// Why AWS cannot be reached at all (no credentials or region, an
    /// endpoint that refuses or never answers), from the first call that
    /// met it: every later call would meet it too, and one that never
    /// answers costs the full time limit, so none is made.
    down: Option<String>,
    /// Calls not made because of `down`.
    skipped: usize,
}

/// A call not made: AWS could not be reached by an earlier one.
#[derive(Debug)]
struct NotMade;

impl std::fmt::Display for NotMade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("not made: an earlier call could not reach AWS")
    }
}

impl std::error::Error for NotMade {}

impl<'a> Ctx<'a> {
    pub fn new(clients: &'a Clients, progress: &'a (dyn Fn(&str) + Sync)) -> Ctx<'a> {
        Ctx {
            clients,
            progress,
            notes: Vec::new(),
            down: None,
            skipped: 0,
        }
    }

    /// Make one call, unless an earlier one found AWS unreachable.
    pub async fn send<T, E>(
        &mut self,
        call: impl std::future::Future<Output = Result<T, SdkError<E>>>,
    ) -> Result<T, SdkError<E>> {
        if self.down.is_some() {
            return Err(SdkError::construction_failure(NotMade));
        }
        call.await
    }

    /// The notes, with one line for the calls not made.
    pub fn into_notes(mut self) -> Vec<String> {
        if let (Some(why), n) = (&self.down, self.skipped) {
            if n > 0 {
                let line = format!(
                    "{n} further call(s) were not made: the first that failed could not reach AWS ({why})"
                );
                self.notes.push(line);
            }
        }
        self.notes
    }

    /// One progress line, `AWS config: …`.
    pub fn step(&self, what: &str) {
        (self.progress)(&format!("AWS config: {what}"));
    }

    /// A note, once (the same link met from two routes is said once).
    pub fn note(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self.notes.contains(&note) {
            self.notes.push(note);
        }
    }

    /// A failed call: one note naming the IAM action.
    pub fn failed<E>(&mut self, action: &str, err: &SdkError<E>)
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let not_made = matches!(err, SdkError::ConstructionFailure(_))
            && std::error::Error::source(err).is_some_and(|s| s.is::<NotMade>());
        if not_made {
            self.skipped += 1;
            return;
        }
        let line = crate::aws::describe(action, err);
        // Not an answer from AWS: nothing after this call would get one.
        if matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ConstructionFailure(_)
        ) && self.down.is_none()
        {
            self.down = Some(line.clone());
        }
        self.note(line);
    }

    /// A listing that reached [`MAX_PAGES`].
    pub fn too_many_pages(&mut self, action: &str) {
        self.note(format!(
            "{action}: stopped after {MAX_PAGES} pages; what is beyond them was not read"
        ));
    }

    /// Every page of a listing: `page(token)` makes one call and gives its
    /// items and the next token. Ends on no (or an empty) token, on a token
    /// met before (an endpoint cycling A→B→A), or after [`MAX_PAGES`] (a
    /// note). A failed call is a note and ends the listing: `complete` is
    /// then false and `items` what the pages before it gave.
    pub async fn pages<T, E, Fut>(
        &mut self,
        action: &str,
        mut page: impl FnMut(Option<String>) -> Fut,
    ) -> Listing<T>
    where
        Fut: std::future::Future<Output = Result<(Vec<T>, Option<String>), SdkError<E>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        let mut items = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let answer = match self.down {
                Some(_) => Err(SdkError::construction_failure(NotMade)),
                None => page(token.take()).await,
            };
            match answer {
                Ok((more, next)) => {
                    items.extend(more);
                    match next {
                        Some(t) if !t.is_empty() && seen.insert(t.clone()) => token = Some(t),
                        _ => {
                            return Listing {
                                items,
                                complete: true,
                            }
                        }
                    }
                }
                Err(e) => {
                    self.failed(action, &e);
                    return Listing {
                        items,
                        complete: false,
                    };
                }
            }
        }
        self.too_many_pages(action);
        Listing {
            items,
            complete: true,
        }
    }
}

/// What [`Ctx::pages`] read.
pub struct Listing<T> {
    pub items: Vec<T>,
    /// No call failed (a listing cut at [`MAX_PAGES`] is complete as far
    /// as it goes; its note says the rest).
    pub complete: bool,
}

/// The service's error code, when it answered with one.
pub fn error_code<E: ProvideErrorMetadata>(err: &SdkError<E>) -> Option<&str> {
    err.code()
}

pub fn is_not_found<E: ProvideErrorMetadata>(err: &SdkError<E>) -> bool {
    matches!(
        error_code(err),
        Some(
            "NotFoundException"
                | "NotFound"
                | "LoadBalancerNotFound"
                | "TargetGroupNotFound"
                | "ListenerNotFound"
        )
    )
}

/// A probed route as one API sees it: the path behind the stage (or the
/// custom domain's base path).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiRoute {
    pub target: String,
    pub method: String,
    pub path: String,
}

/// A VPC link an integration names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum LinkRef {
    /// From a REST integration without `integrationTarget`: V1, or V2 if
    /// only apigatewayv2 knows it.
    Rest(String),
    /// From an HTTP API, or a REST integration with `integrationTarget`.
    V2(String),
}

/// Where the chain leads next: VPC links and load balancers, each with
/// what named it (for the notes).
#[derive(Debug, Default)]
pub struct Follow {
    pub links: Vec<LinkRef>,
    /// (ARN or `net/NAME/ID`, what named it).
    pub load_balancers: Vec<(String, String)>,
}

impl Follow {
    pub fn link(&mut self, link: LinkRef) {
        if !self.links.contains(&link) {
            self.links.push(link);
        }
    }

    pub fn load_balancer(&mut self, reference: &str, origin: String) {
        if !self.load_balancers.iter().any(|(r, _)| r == reference) {
            self.load_balancers.push((reference.to_string(), origin));
        }
    }
}
