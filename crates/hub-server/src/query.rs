//! `talenthub.v1.Query`: the view's questions.

use std::sync::Arc;
use std::time::Duration;

use hub_proto::pb;
use hub_proto::pb::query_server::Query;
use hub_view::View;
use tonic::{Request, Response, Status};

use crate::auth::Action;
use crate::hub::Hub;
use crate::status::{from_view, invalid};

/// How long a question about a position the view has not folded yet waits for it.
const READ_YOUR_WRITES_WAIT: Duration = Duration::from_secs(2);

/// The Query service.
#[derive(Debug, Clone)]
pub struct QueryService {
    hub: Arc<Hub>,
}

impl QueryService {
    /// Serves questions on `hub`.
    pub fn new(hub: Arc<Hub>) -> Self {
        Self { hub }
    }

    /// Authorises, admits, waits for the view to reach `at_position` if needed, answers.
    async fn answer<Req, Resp>(
        &self,
        request: Request<Req>,
        at_position: u64,
        ask: impl FnOnce(&View, &Req) -> hub_view::Result<Resp>,
    ) -> Result<Response<Resp>, Status> {
        self.answer_as(Action::Query, request, at_position, ask)
            .await
    }

    async fn answer_as<Req, Resp>(
        &self,
        action: Action<'_>,
        request: Request<Req>,
        at_position: u64,
        ask: impl FnOnce(&View, &Req) -> hub_view::Result<Resp>,
    ) -> Result<Response<Resp>, Status> {
        let (caller, _) = self.hub.auth().authorize(&request, action)?;
        self.answer_for(caller, request, at_position, ask).await
    }

    /// Admits an authorised caller's question, waits for the view to reach
    /// `at_position` if needed, and answers it.
    async fn answer_for<Req, Resp>(
        &self,
        caller: crate::identity::Caller,
        request: Request<Req>,
        at_position: u64,
        ask: impl FnOnce(&View, &Req) -> hub_view::Result<Resp>,
    ) -> Result<Response<Resp>, Status> {
        let _permit = self.hub.admit(caller.member)?;
        if at_position > self.hub.view().position() && at_position <= self.hub.log().head() {
            self.hub
                .view()
                .wait_for(at_position, READ_YOUR_WRITES_WAIT)
                .await;
        }
        ask(self.hub.view(), request.get_ref())
            .map(Response::new)
            .map_err(from_view)
    }

    /// Answers a question about one person, for members and auditors only: turns a
    /// `national_id` into the subject reference, answers, and records the access (a
    /// question that cannot be recorded is not answered).
    async fn personal_by_subject<Req, Resp>(
        &self,
        mut request: Request<Req>,
        subject_fields: impl FnOnce(&mut Req) -> (&mut String, &mut String),
        time: impl FnOnce(&Req) -> Option<&pb::TimeAxes>,
        ask: impl FnOnce(&View, &Req) -> hub_view::Result<Resp>,
        found: impl FnOnce(&Resp) -> usize,
    ) -> Result<Response<Resp>, Status> {
        let at = at(time(request.get_ref()));
        let (caller, _) = self.hub.auth().authorize(&request, Action::QueryPersonal)?;
        let (subject_ref, national_id) = subject_fields(request.get_mut());
        // The number is replaced here and dropped with the request; it is never logged
        // or echoed, and the error names only the field.
        self.hub
            .alliance_key()
            .replace_national_id(subject_ref, national_id)
            .map_err(|e| invalid(&e))?;
        let subject = subject_ref.clone();
        let answer = self.answer_for(caller, request, at, ask).await?;
        let found = u32::try_from(found(answer.get_ref())).unwrap_or(u32::MAX);
        self.hub
            .access()
            .record(caller, &subject, found)
            .await
            .map_err(crate::status::from_log)?;
        Ok(answer)
    }
}

fn at(time: Option<&pb::TimeAxes>) -> u64 {
    time.map_or(0, |t| t.at_position)
}

#[tonic::async_trait]
impl Query for QueryService {
    async fn is_recognized(
        &self,
        request: Request<pb::IsRecognizedRequest>,
    ) -> Result<Response<pb::IsRecognizedResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer(request, at, View::is_recognized).await
    }

    async fn list_recognitions(
        &self,
        request: Request<pb::ListRecognitionsRequest>,
    ) -> Result<Response<pb::ListRecognitionsResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer(request, at, View::list_recognitions).await
    }

    async fn recognition_matrix(
        &self,
        request: Request<pb::RecognitionMatrixRequest>,
    ) -> Result<Response<pb::RecognitionMatrixResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer(request, at, View::recognition_matrix).await
    }

    async fn demand_summary(
        &self,
        request: Request<pb::DemandSummaryRequest>,
    ) -> Result<Response<pb::DemandSummaryResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer(request, at, View::demand_summary).await
    }

    async fn demand_trend(
        &self,
        request: Request<pb::DemandTrendRequest>,
    ) -> Result<Response<pb::DemandTrendResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer(request, at, View::demand_trend).await
    }

    async fn shortage_alerts(
        &self,
        request: Request<pb::ShortageAlertsRequest>,
    ) -> Result<Response<pb::ShortageAlertsResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer(request, at, View::shortage_alerts).await
    }

    async fn joint_report(
        &self,
        request: Request<pb::JointReportRequest>,
    ) -> Result<Response<pb::JointReportResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer(request, at, View::joint_report).await
    }

    async fn check_subject(
        &self,
        request: Request<pb::CheckSubjectRequest>,
    ) -> Result<Response<pb::CheckSubjectResponse>, Status> {
        self.personal_by_subject(
            request,
            |r| (&mut r.subject_ref, &mut r.national_id),
            |r| r.time.as_ref(),
            View::check_subject,
            |a| a.entries.len(),
        )
        .await
    }

    async fn screen_application(
        &self,
        request: Request<pb::ScreenApplicationRequest>,
    ) -> Result<Response<pb::ScreenApplicationResponse>, Status> {
        self.personal_by_subject(
            request,
            |r| (&mut r.subject_ref, &mut r.national_id),
            |r| r.time.as_ref(),
            View::screen_application,
            |a| a.barring.len() + a.overlapping.len() + a.fast_track.len(),
        )
        .await
    }

    async fn whitelist_status(
        &self,
        request: Request<pb::WhitelistStatusRequest>,
    ) -> Result<Response<pb::WhitelistStatusResponse>, Status> {
        self.personal_by_subject(
            request,
            |r| (&mut r.subject_ref, &mut r.national_id),
            |r| r.time.as_ref(),
            View::whitelist_status,
            |a| a.entries.len(),
        )
        .await
    }

    async fn list_awards(
        &self,
        request: Request<pb::ListAwardsRequest>,
    ) -> Result<Response<pb::ListAwardsResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer_as(Action::QueryPersonal, request, at, View::list_awards)
            .await
    }

    async fn register_summary(
        &self,
        request: Request<pb::RegisterSummaryRequest>,
    ) -> Result<Response<pb::RegisterSummaryResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer(request, at, View::register_summary).await
    }

    async fn list_entries(
        &self,
        request: Request<pb::ListEntriesRequest>,
    ) -> Result<Response<pb::ListEntriesResponse>, Status> {
        let at = at(request.get_ref().time.as_ref());
        self.answer_as(Action::QueryPersonal, request, at, View::list_entries)
            .await
    }

    async fn view_info(
        &self,
        request: Request<pb::ViewInfoRequest>,
    ) -> Result<Response<pb::ViewInfoResponse>, Status> {
        let at = request.get_ref().at_position;
        let head = self.hub.log().head();
        let mut info = self.answer(request, at, View::info).await?;
        info.get_mut().log_head = head;
        info.get_mut().replication = self
            .hub
            .replication_status()
            .map(crate::repair::replication_info);
        Ok(info)
    }

    async fn repair_replication(
        &self,
        request: Request<pb::RepairReplicationRequest>,
    ) -> Result<Response<pb::ReplicationInfo>, Status> {
        let (caller, _) = self.hub.auth().authorize(&request, Action::Repair)?;
        let _permit = self.hub.admit(caller.member)?;
        Ok(Response::new(crate::repair::repair(
            &self.hub,
            request.get_ref().action,
        )?))
    }
}
