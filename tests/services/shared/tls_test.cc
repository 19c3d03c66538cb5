// TLS and mutual TLS on a real server on loopback, with certificates made for the test: who can
// connect and who cannot, host names checked, configuration mistakes refused with the flag and
// the file named, and /healthz beside /metrics for probes that cannot speak TLS.
#include "services/shared/tls.h"

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/client_context.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/support/channel_arguments.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include "absl/strings/match.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/shared/client_channel.h"
#include "services/shared/grpc_server.h"
#include "tests/support/test_certificates.h"

namespace dd {
namespace {

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new testing::TestCertificates(); }
  static void TearDownTestSuite() { delete pki_; }
  void SetUp() override { ASSERT_TRUE(pki_->ok()) << pki_->why(); }

  // A server with `tls`; its address.
  std::string Serve(const TlsFiles& tls) {
    GrpcServerOptions options;
    options.tls = tls;
    auto server = GrpcServer::Start(options, {});
    EXPECT_TRUE(server.ok()) << server.status();
    if (!server.ok()) return "";
    server_ = *std::move(server);
    return server_->address();
  }
  TlsFiles ServerFiles(bool mutual) const {
    TlsFiles files;
    files.cert_file = pki_->server_cert();
    files.key_file = pki_->server_key();
    if (mutual) files.client_ca_file = pki_->ca();
    return files;
  }

  // A health check over `channel`; its status code.
  static grpc::StatusCode Check(const std::shared_ptr<grpc::Channel>& channel) {
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    grpc::health::v1::HealthCheckRequest request;
    grpc::health::v1::HealthCheckResponse response;
    const grpc::Status status = health->Check(&context, request, &response);
    if (status.ok()) {
      EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);
    }
    return status.error_code();
  }
  // A channel as the services open them, with the client-side files `tls`.
  static std::shared_ptr<grpc::Channel> Channel(const std::string& address, const TlsFiles& tls) {
    auto credentials = ChannelCredentialsFor(tls);
    EXPECT_TRUE(credentials.ok()) << credentials.status();
    ClientChannelOptions options;
    options.credentials = *credentials;
    return ClientChannel(address, options);
  }
  static TlsFiles Trusting(const std::string& ca) {
    TlsFiles files;
    files.ca_file = ca;
    return files;
  }

  static inline testing::TestCertificates* pki_ = nullptr;
  std::unique_ptr<GrpcServer> server_;
};

TEST_F(TlsTest, ClientsThatTrustTheServersCaConnectAndNoOthers) {
  const std::string address = Serve(ServerFiles(/*mutual=*/false));
  ASSERT_FALSE(address.empty());
  EXPECT_EQ(Check(Channel(address, Trusting(pki_->ca()))), grpc::StatusCode::OK);
  // Plaintext to a TLS port, and TLS with a CA that did not sign the server's certificate.
  EXPECT_EQ(Check(Channel(address, {})), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(Check(Channel(address, Trusting(pki_->other_ca()))), grpc::StatusCode::UNAVAILABLE);
}

TEST_F(TlsTest, TheCertificateMustNameTheHostCalled) {
  const std::string address = Serve(ServerFiles(/*mutual=*/false));
  ASSERT_FALSE(address.empty());
  auto credentials = ChannelCredentialsFor(Trusting(pki_->ca()));
  ASSERT_TRUE(credentials.ok());
  // The certificate names 127.0.0.1 and localhost; a client that believes it called another host
  // must refuse it, whoever signed it.
  grpc::ChannelArguments elsewhere;
  elsewhere.SetSslTargetNameOverride("render.elsewhere.example");
  EXPECT_EQ(Check(grpc::CreateCustomChannel(address, *credentials, elsewhere)),
            grpc::StatusCode::UNAVAILABLE);
  grpc::ChannelArguments named;
  named.SetSslTargetNameOverride("localhost");
  EXPECT_EQ(Check(grpc::CreateCustomChannel(address, *credentials, named)), grpc::StatusCode::OK);
}

TEST_F(TlsTest, MutualTlsAdmitsOnlyClientsWithACertificateFromTheClientCa) {
  const std::string address = Serve(ServerFiles(/*mutual=*/true));
  ASSERT_FALSE(address.empty());
  EXPECT_EQ(Check(Channel(address, Trusting(pki_->ca()))), grpc::StatusCode::UNAVAILABLE);
  TlsFiles client = Trusting(pki_->ca());
  client.cert_file = pki_->client_cert();
  client.key_file = pki_->client_key();
  EXPECT_EQ(Check(Channel(address, client)), grpc::StatusCode::OK);
}

TEST_F(TlsTest, MistakesInTheFilesAreRefusedWithTheFlagAndFileNamed) {
  const auto refused = [](const TlsFiles& files) {
    GrpcServerOptions options;
    options.tls = files;
    auto server = GrpcServer::Start(options, {});
    EXPECT_FALSE(server.ok());
    EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(server.status().message());
  };
  TlsFiles files = ServerFiles(false);
  files.key_file.clear();
  EXPECT_EQ(refused(files), "--tls_cert_file and --tls_key_file go together: give both or neither");
  files = {};
  files.client_ca_file = pki_->ca();
  EXPECT_TRUE(absl::StartsWith(refused(files), "--tls_client_ca_file needs --tls_cert_file"));
  files = ServerFiles(false);
  files.cert_file = pki_->dir() + "/missing.pem";
  EXPECT_EQ(refused(files),
            "--tls_cert_file " + files.cert_file + ": cannot be read (No such file or directory)");
  files = ServerFiles(false);
  files.key_file = pki_->server_cert();  // A certificate where the key should be.
  EXPECT_EQ(refused(files), "--tls_key_file " + files.key_file + ": no PEM PRIVATE KEY in it");
  files = ServerFiles(false);
  files.reload_interval = absl::Milliseconds(10);
  EXPECT_TRUE(absl::StrContains(refused(files), "reload interval must be at least 1s"));
  // The client side checks its CA file the same way.
  auto credentials = ChannelCredentialsFor(Trusting(pki_->client_key()));
  ASSERT_FALSE(credentials.ok());
  EXPECT_EQ(credentials.status().message(),
            "--tls_ca_file " + pki_->client_key() + ": no PEM CERTIFICATE in it");
}

TEST_F(TlsTest, TheMetricsPortAnswersHealthzForProbesThatCannotSpeakTls) {
  GrpcServerOptions options;
  options.tls = ServerFiles(/*mutual=*/true);
  options.metrics_port = 0;
  auto server = GrpcServer::Start(options, {});
  ASSERT_TRUE(server.ok()) << server.status();
  httplib::Client probe("127.0.0.1", (*server)->metrics_port());
  auto answer = probe.Get("/healthz");
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200);
  EXPECT_EQ(answer->body, R"({"status":"SERVING"})");
}

}  // namespace
}  // namespace dd
