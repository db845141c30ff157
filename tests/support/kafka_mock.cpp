// triaged-kafka-mock: a Kafka cluster for the tests and benchmarks, librdkafka's own mock
// cluster (in-process brokers speaking the real protocol, from Debian's librdkafka), plus the
// client ends the tests need:
//   triaged-kafka-mock cluster [--brokers N] [--topic NAME:PARTITIONS]...
//       prints the bootstrap servers on a line, serves until standard input closes; lines on
//       standard input change it, each answered "ok" (or "error: ...") on standard output:
//         down ID | up ID              a broker disconnects and refuses connections, or is back
//         leader TOPIC PARTITION ID    the partition's leader moves (as a controller would)
//   triaged-kafka-mock produce --bootstrap B --topic T [--partitions N]
//       one message per line of standard input (round-robin over N partitions; default: the
//       client's partitioner), prints the count once every message is acknowledged
//   triaged-kafka-mock committed --bootstrap B --group G --topic T --partitions N
//       the group's committed offset of each partition, "partition offset" per line
//   triaged-kafka-mock consume --bootstrap B --topic T --partitions N [--timeout S]
//       every message from the start, as JSON lines with its headers, until S seconds idle
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

struct Args {
  std::string cmd, bootstrap, topic, group;
  std::vector<std::string> topics;
  int brokers = 1, partitions = 0, timeout = 3;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "triaged-kafka-mock: " << why << "\n";
  std::exit(2);
}

rd_kafka_t* client(rd_kafka_type_t type, const std::string& bootstrap,
                   const std::vector<std::pair<std::string, std::string>>& extra = {}) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK)
      usage(k + ": " + err);
  };
  set("bootstrap.servers", bootstrap);
  for (const auto& [k, v] : extra) set(k, v);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof err);
  if (!rk) usage(err);
  return rk;
}

std::string jsonString(const char* p, size_t n) {
  std::string out = "\"";
  for (size_t i = 0; i < n; ++i) {
    unsigned char c = static_cast<unsigned char>(p[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

int cluster(const Args& a) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "4", err, sizeof err);  // no notice about its own brokers
  rd_kafka_t* host = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (!host) usage(err);
  rd_kafka_mock_cluster_t* mc = rd_kafka_mock_cluster_new(host, a.brokers);
  if (!mc) usage("cannot create the mock cluster");
  for (const auto& t : a.topics) {
    auto colon = t.rfind(':');
    std::string name = colon == std::string::npos ? t : t.substr(0, colon);
    int parts = colon == std::string::npos ? 1 : std::atoi(t.c_str() + colon + 1);
    if (rd_kafka_resp_err_t e = rd_kafka_mock_topic_create(mc, name.c_str(), parts, 1))
      usage(name + ": " + rd_kafka_err2str(e));
  }
  std::cout << rd_kafka_mock_cluster_bootstraps(mc) << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string cmd, topic;
    int32_t id = 0, partition = 0;
    rd_kafka_resp_err_t e = RD_KAFKA_RESP_ERR_NO_ERROR;
    in >> cmd;
    if (cmd == "down" && in >> id)
      e = rd_kafka_mock_broker_set_down(mc, id);
    else if (cmd == "up" && in >> id)
      e = rd_kafka_mock_broker_set_up(mc, id);
    else if (cmd == "leader" && in >> topic >> partition >> id)
      e = rd_kafka_mock_partition_set_leader(mc, topic.c_str(), partition, id);
    else if (cmd.empty())
      continue;
    else
      e = RD_KAFKA_RESP_ERR__INVALID_ARG;
    std::cout << (e ? std::string("error: ") + rd_kafka_err2str(e) : std::string("ok"))
              << std::endl;
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(host);
  return 0;
}

int produce(const Args& a) {
  rd_kafka_t* rk = client(RD_KAFKA_PRODUCER, a.bootstrap,
                          {{"linger.ms", "5"},
                           {"batch.num.messages", "10000"},
                           {"queue.buffering.max.messages", "1000000"},
                           {"acks", "all"}});
  std::ios::sync_with_stdio(false);
  std::string line;
  uint64_t n = 0;
  while (std::getline(std::cin, line)) {
    int32_t part =
        a.partitions > 0 ? static_cast<int32_t>(n % a.partitions) : RD_KAFKA_PARTITION_UA;
    for (;;) {
      rd_kafka_resp_err_t e = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(a.topic.c_str()), RD_KAFKA_V_PARTITION(part),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_VALUE(const_cast<char*>(line.data()), line.size()), RD_KAFKA_V_END);
      if (e == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);
        continue;
      }
      if (e) usage(std::string("produce: ") + rd_kafka_err2str(e));
      break;
    }
    ++n;
    rd_kafka_poll(rk, 0);
  }
  if (rd_kafka_flush(rk, 60000)) usage("not every message was acknowledged within 60 s");
  rd_kafka_destroy(rk);
  std::cout << "produced " << n << std::endl;
  return 0;
}

int committed(const Args& a) {
  rd_kafka_t* rk = client(RD_KAFKA_CONSUMER, a.bootstrap, {{"group.id", a.group}});
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(a.partitions);
  for (int p = 0; p < a.partitions; ++p) rd_kafka_topic_partition_list_add(l, a.topic.c_str(), p);
  if (rd_kafka_resp_err_t e = rd_kafka_committed(rk, l, 10000))
    usage(std::string("committed: ") + rd_kafka_err2str(e));
  for (int i = 0; i < l->cnt; ++i)
    std::cout << l->elems[i].partition << " " << l->elems[i].offset << "\n";
  rd_kafka_topic_partition_list_destroy(l);
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

int consume(const Args& a) {
  rd_kafka_t* rk =
      client(RD_KAFKA_CONSUMER, a.bootstrap,
             {{"group.id", "triaged-kafka-mock-reader"}, {"enable.auto.commit", "false"}});
  rd_kafka_poll_set_consumer(rk);
  rd_kafka_topic_partition_list_t* l = rd_kafka_topic_partition_list_new(a.partitions);
  for (int p = 0; p < a.partitions; ++p)
    rd_kafka_topic_partition_list_add(l, a.topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  rd_kafka_assign(rk, l);
  rd_kafka_topic_partition_list_destroy(l);
  auto idle_since = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - idle_since < std::chrono::seconds(a.timeout)) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (!m) continue;
    if (!m->err) {
      idle_since = std::chrono::steady_clock::now();
      std::string out = "{\"partition\":" + std::to_string(m->partition) +
                        ",\"offset\":" + std::to_string(m->offset) +
                        ",\"value\":" + jsonString(static_cast<const char*>(m->payload), m->len) +
                        ",\"headers\":{";
      rd_kafka_headers_t* hdrs = nullptr;
      if (!rd_kafka_message_headers(m, &hdrs)) {
        const char* name;
        const void* val;
        size_t size;
        for (size_t i = 0; !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); ++i)
          out += (i ? "," : "") + jsonString(name, std::strlen(name)) + ":" +
                 jsonString(static_cast<const char*>(val), size);
      }
      std::cout << out << "}}" << std::endl;
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(rk);
  rd_kafka_destroy(rk);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (argc < 2) usage("usage: cluster | produce | committed | consume (see the source's head)");
  a.cmd = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(k + " needs a value");
      return argv[++i];
    };
    if (k == "--brokers")
      a.brokers = std::atoi(val().c_str());
    else if (k == "--topic" && a.cmd == "cluster")
      a.topics.push_back(val());
    else if (k == "--topic")
      a.topic = val();
    else if (k == "--bootstrap")
      a.bootstrap = val();
    else if (k == "--group")
      a.group = val();
    else if (k == "--partitions")
      a.partitions = std::atoi(val().c_str());
    else if (k == "--timeout")
      a.timeout = std::atoi(val().c_str());
    else
      usage("unknown argument " + k);
  }
  if (a.cmd == "cluster") return cluster(a);
  if (a.bootstrap.empty() || a.topic.empty()) usage("--bootstrap and --topic are required");
  if (a.cmd == "produce") return produce(a);
  if (a.partitions <= 0) usage("--partitions is required");
  if (a.cmd == "committed") return committed(a);
  if (a.cmd == "consume") return consume(a);
  usage("unknown command " + a.cmd);
}
