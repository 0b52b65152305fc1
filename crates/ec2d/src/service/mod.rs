//! The service layer: one module per EC2 resource family. A handler takes the request context, the
//! open transaction and the decoded DTO, calls the domain core, and returns the response DTO.
//! Every request runs in exactly one store transaction, opened here.

use ec2_core::filters::{self, FilterError, FilterTable};
use ec2_core::ids::IdGen;
use ec2_core::{Scope, UnixMillis};
use ec2_protocol::{dto, Ec2Error, Request, Response};
use ec2_store::{StoreError, Txn};

use crate::app::App;
use crate::config::ClockMode;

pub mod regions;

/// What a handler knows about its request.
pub struct Ctx<'a> {
    pub scope: &'a Scope,
    pub now: UnixMillis,
    pub ids: IdGen,
    pub clock: ClockMode,
}

/// A handler's failure: an EC2 error for the client, or a store failure (500).
#[derive(Debug)]
pub enum Error {
    Ec2(Ec2Error),
    Store(StoreError),
}

impl From<Ec2Error> for Error {
    fn from(e: Ec2Error) -> Self {
        Error::Ec2(e)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Error::Store(e)
    }
}

impl From<Error> for Ec2Error {
    fn from(e: Error) -> Self {
        match e {
            Error::Ec2(e) => e,
            Error::Store(e) => Ec2Error::internal(format!("An internal error has occurred ({e}).")),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Answers `DryRunOperation` when the request asked for a dry run. Handlers call it after their
/// syntax checks and before they look anything up or change anything.
pub fn dry_run_gate(dry_run: Option<bool>) -> Result<()> {
    if dry_run == Some(true) {
        Err(Ec2Error::dry_run_operation().into())
    } else {
        Ok(())
    }
}

/// The request's filters in domain form, checked against the resource's filter table.
pub fn filters<T>(table: &FilterTable<T>, filters: &Option<Vec<dto::Filter>>) -> Result<Vec<filters::Filter>> {
    let list: Vec<filters::Filter> = filters
        .iter()
        .flatten()
        .map(|f| filters::Filter {
            name: f.name.clone().unwrap_or_default(),
            values: f.values.clone().unwrap_or_default(),
        })
        .collect();
    table.validate(&list).map_err(|FilterError::UnknownFilter(name)| {
        Ec2Error::invalid_parameter_value(format!("The filter '{name}' is invalid"))
    })?;
    Ok(list)
}

/// Runs one decoded request in one transaction.
pub fn call(app: &App, scope: &Scope, request: &Request) -> std::result::Result<Response, Ec2Error> {
    app.store
        .transact(|tx: &mut Txn<'_>| {
            let now = app.clock.now(tx)?;
            let ctx = Ctx { scope, now, ids: app.ids, clock: app.clock.mode };
            dispatch(&ctx, tx, request)
        })
        .map_err(Ec2Error::from)
}

fn dispatch(ctx: &Ctx<'_>, _tx: &mut Txn<'_>, request: &Request) -> Result<Response> {
    Ok(match request {
        Request::DescribeRegions(r) => Response::DescribeRegions(regions::describe_regions(ctx, r)?),
        Request::DescribeAvailabilityZones(r) => {
            Response::DescribeAvailabilityZones(regions::describe_availability_zones(ctx, r)?)
        }
    })
}
