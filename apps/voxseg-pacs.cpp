// voxseg pacs: DICOM networking (echo, store, find, get, move) and the listener that segments
// received series and sends the DICOM SEG back (listen, status). docs/pacs.md.
#include "voxseg/cli/app.h"
#include "voxseg/pacs/listener.h"
#include "voxseg/pacs/report.h"
#include "voxseg/pacs/steps.h"

namespace {
using namespace voxseg;
struct Args {
  pacs::NetworkOptions net;
  std::string peer, send_to;
  std::vector<std::string> paths;
  pacs::FindQuery query;
  pacs::RetrieveRequest retrieve;
  pacs::ListenOptions listen;
  std::vector<CLI::App*> cmd;
};

void network_options(CLI::App* c, Args& a) {
  c->add_option("--aet", a.net.aet, "our AE title")->capture_default_str();
  c->add_option("--timeout", a.net.timeout_s, "seconds for connection, association and each message")
      ->check(CLI::Range(1, 3600))->capture_default_str();
  c->add_option("--max-pdu", a.net.max_pdu, "largest PDU we receive")->check(CLI::Range(4096, 131072))->capture_default_str();
  c->add_flag("--tls", a.net.tls.enabled, "DICOM TLS (BCP 195 profile)");
  c->add_option("--cert", a.net.tls.cert, "--tls: our certificate (PEM)");
  c->add_option("--key", a.net.tls.key, "--tls: our private key (PEM)");
  c->add_option("--ca", a.net.tls.ca, "--tls: CA certificate that signed the peer's (PEM)");
}

void declare(CLI::App& app, Args& a) {
  app.require_subcommand(1);
  app.fallthrough();
  const char* cmds[][2] = {{"echo", "C-ECHO a peer"}, {"store", "C-STORE files or folders (recursively)"},
                           {"find", "C-FIND (Study Root)"}, {"get", "C-GET a study or series into a folder"},
                           {"move", "C-MOVE a study or series to our own storage SCP"},
                           {"listen", "receive series, segment them, send the DICOM SEG back"},
                           {"status", "state of a listener's spool"}};
  for (int i = 0; i < 7; ++i) {
    a.cmd.push_back(app.add_subcommand(cmds[i][0], cmds[i][1]));
    if (i < 6) network_options(a.cmd[i], a);
    if (i < 5) a.cmd[i]->add_option("peer", a.peer, "AET@HOST:PORT")->required();
  }
  a.cmd[1]->add_option("paths", a.paths, "DICOM files or folders")->required();
  CLI::App* f = a.cmd[2];
  f->add_option("--level", a.query.level, "study|series")->check(CLI::IsMember({"study", "series"}))->capture_default_str();
  f->add_option("--patient-id", a.query.patient_id, "Patient ID (wildcards as the peer supports)");
  f->add_option("--study-uid", a.query.study_uid, "Study Instance UID");
  f->add_option("--accession", a.query.accession, "Accession Number");
  f->add_option("--modality", a.query.modality, "Modality (series) or Modalities in Study (study)");
  f->add_option("--date", a.query.date, "Study Date YYYYMMDD or YYYYMMDD-YYYYMMDD");
  for (int i : {3, 4}) {
    auto* study = a.cmd[i]->add_option("--study-uid", a.retrieve.study_uid, "Study Instance UID");
    a.cmd[i]->add_option("--series-uid", a.retrieve.series_uid, "Series Instance UID")->excludes(study);
    a.cmd[i]->add_option("-o,--output", a.retrieve.output_dir, "folder for the instances")->required();
  }
  a.cmd[4]->add_option("--port", a.retrieve.port, "port of our storage SCP (the peer must know our AE title)")->required();
  CLI::App* l = a.cmd[5];
  pacs::ListenOptions& o = a.listen;
  l->add_option("--port", o.port, "port to listen on")->required();
  l->add_option("--spool", o.spool, "spool folder (instances, journal, outputs)")->required();
  l->add_option("--allow", o.allow, "calling AE titles allowed to send")->delimiter(',')->required();
  l->add_option("--nnunet", o.nnunet, "nnU-Net v2 result folder")->excludes(l->add_option("-m,--model", o.model, "model bundle"));
  l->add_option("--send-to", a.send_to, "where the SEG goes: AET@HOST:PORT")->required();
  l->add_flag("--send-tls", o.send_tls, "send the SEG over TLS too (--tls alone secures the listening port)");
  l->add_option("--quiet-seconds", o.quiet_seconds, "a series is complete after this long without new instances")
      ->check(CLI::Range(0.1, 86400.0))->capture_default_str();
  l->add_option("--workers", o.workers, "concurrent segmentations")->check(CLI::Range(1, 64))->capture_default_str();
  l->add_option("--max-associations", o.max_associations, "concurrent incoming associations")->check(CLI::Range(1, 256));
  l->add_option("--retry-seconds", o.retry_initial_s, "first delay before re-sending a SEG (doubles)")->capture_default_str();
  l->add_option("--retry-max-seconds", o.retry_max_s, "largest delay between send attempts")->capture_default_str();
  for (const auto& p : pacs::pass_through_options(o)) l->add_option(p.flag, *p.value, p.help);
  l->add_flag("--disable-tta", o.disable_tta, "voxseg predict --disable-tta");
  l->add_option("--predict-arg", o.predict_args, "another voxseg predict option, one word each (repeatable)");
  l->add_option("--refine-arg", o.refine.args, "another voxseg refine option, one word each (repeatable)");
  l->add_option("--segment-command", o.segment_command, "")->group("");  // tests: stand-in for voxseg-predict
  a.cmd[6]->add_option("spool", o.spool, "spool folder of a listener")->required();
}

ExitCode execute(Args& a, cli::Context& ctx) {
  if (a.cmd[6]->parsed()) {
    const Json s = pacs::spool_status(a.listen.spool);
    ctx.print_result(s, pacs::format_status(s));
    return ExitCode::Ok;
  }
  if (a.cmd[5]->parsed()) {
    a.listen.send_to = pacs::parse_peer(a.send_to);
    a.listen.threads = ctx.common().threads;
    pacs::run_listener(a.listen, a.net);
    return ExitCode::Ok;
  }
  pacs::check_ae_title(a.net.aet, "--aet");
  const pacs::Peer peer = pacs::parse_peer(a.peer);
  a.retrieve.overwrite = ctx.force();
  pacs::Report r;
  if (a.cmd[0]->parsed()) r = pacs::echo_report(peer, a.net);
  if (a.cmd[1]->parsed()) r = pacs::store_report(peer, pacs::store(peer, {a.paths.begin(), a.paths.end()}, a.net));
  if (a.cmd[2]->parsed()) r = pacs::find_report(pacs::find(peer, a.query, a.net), a.query.level);
  if (a.cmd[3]->parsed()) r = pacs::retrieve_report(a.retrieve, pacs::get(peer, a.retrieve, a.net));
  if (a.cmd[4]->parsed()) r = pacs::retrieve_report(a.retrieve, pacs::move(peer, a.retrieve, a.net));
  if (!ctx.json()) ctx.print_result(Json(), r.text);
  for (const auto& j : ctx.json() ? r.json : std::vector<Json>{}) ctx.print_result(j, "");
  return r.code;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string examples =
      "  voxseg pacs echo ORTHANC@127.0.0.1:4242\n"
      "  voxseg pacs store ORTHANC@127.0.0.1:4242 sample_data/ct_abdomen_dicom\n"
      "  voxseg pacs find ORTHANC@127.0.0.1:4242 --level series --modality CT --json\n"
      "  voxseg pacs get ORTHANC@127.0.0.1:4242 --series-uid 1.2.3 -o series/\n"
      "  voxseg pacs move ORTHANC@127.0.0.1:4242 --study-uid 1.2.3 -o study/ --port 11112\n"
      "  voxseg pacs listen --port 11112 --spool /var/spool/voxseg --allow CT1,ORTHANC -m models/ct-abdomen-small \\\n"
      "      --send-to ORTHANC@127.0.0.1:4242 --quiet-seconds 10 --disable-tta --refine-sam sam_vit_b_01ec64.pth\n"
      "  voxseg pacs status /var/spool/voxseg --json\n"
      "Exit codes: 0 ok, 2 usage, 3 bad local files, 5 cannot write, 7 network or peer error, 8 some instances failed.";
  return cli::run<Args>(argc, argv, {"pacs", examples}, declare, execute);
}
